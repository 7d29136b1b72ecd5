"""The agenda: appointments and reminders, and the prevention engine (vaccinations, screenings)."""

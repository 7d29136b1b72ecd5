"""`make demo`: build a demo vault in a temporary home with sample data, and show it; then
sync it with a second device through a server on loopback (msante/demo_sync.py).

Every step is a real `msante` command, printed before it runs, so the demo is also a tour.
The home is kept afterwards so that you can go on trying commands in it.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

PASSPHRASE = "demo velvet orbit lantern 2026"


def _run(env: dict[str, str], *args: str) -> None:
    print(f"\n$ msante {' '.join(shlex.quote(a) for a in args)}", flush=True)
    subprocess.run([sys.executable, "-m", "msante", *args], env=env, check=True)


SAMPLES = {
    "resultats-biologie.pdf": ("Compte rendu d'examens biologiques", [
        "Laboratoire Bioaccess – 12 rue de la République, 69002 Lyon",
        "Patiente : Camille Martin", "Née le 02/06/1985",
        "Prélevé le 12/03/2025 à 08:15 – à jeun",
        "Glycémie à jeun : 0,92 g/L (0,70 – 1,10)", "Hémoglobine : 13,8 g/dL (12,0 – 16,0)",
        "Protéine C-réactive (CRP) : 3,1 mg/L (< 5,0)", "Œstradiol : 154 pg/mL (≥ 20)"]),
    "ordonnance.pdf": ("Ordonnance", [
        "Dr Jean Lefèvre – médecine générale", "ORDONNANCE", "Paris, le 05/01/2025",
        "Patiente : Camille Martin", "Doliprane 1000 mg : 1 comprimé 3 fois par jour, 5 jours",
        "Vitamine D3 : 1 ampoule par mois, 3 mois"]),
    "echographie.pdf": ("Compte rendu d'échographie abdominale", [
        "Cabinet de radiologie du Parc", "Compte rendu d'échographie abdominale",
        "Examen réalisé le 20/02/2025", "Patient : Léo Martin, né le 27/04/2019",
        "Conclusion : foie, vésicule et reins sans particularité."]),
}


def _write_samples(folder: Path) -> None:
    """A few French medical PDFs, written with fpdf2 and the font msante ships."""
    from importlib import resources

    from fpdf import FPDF

    font = str(resources.files("msante").joinpath("data/fonts/DejaVuSans.ttf"))
    for name, (title, lines) in SAMPLES.items():
        pdf = FPDF()
        pdf.set_title(title)
        pdf.add_page()
        pdf.add_font("DejaVu", fname=font)
        pdf.set_font("DejaVu", size=12)
        for text in lines:
            pdf.cell(0, 9, text, new_x="LMARGIN", new_y="NEXT")
        pdf.output(str(folder / name))


def _prepare() -> tuple[Path, dict[str, str]]:
    root = Path(tempfile.mkdtemp(prefix="msante-demo-"))
    runtime = root / "run"
    runtime.mkdir(mode=0o700)
    pfile = root / "passphrase.txt"
    pfile.write_text(PASSPHRASE + "\n")
    pfile.chmod(0o600)
    env = dict(os.environ, MSANTE_HOME=str(root / "vault"), XDG_RUNTIME_DIR=str(runtime),
               MSANTE_PASSPHRASE_FILE=str(pfile))
    return root, env


PROFILE = [
    ["allergies", "substance=Pénicilline", "reaction=œdème de Quincke", "severity=severe",
     "--code", "snomed:764146007"],
    ["treatments", "medicine=Lévothyroxine", "dose=75 µg", "frequency=1 par jour",
     "start=2018-03", "--code", "atc:H03AA01"],
    ["conditions", "condition=Hypothyroïdie", "status=active", "onset=2018"],
    ["vaccinations", "vaccine=Boostrixtetra", "date=2020-05-12", "dose=3"],
    ["blood-group", "group=O+"],
    ["trusted-person", "name=Paul Martin", "relation=frère", "phone=+33 6 12 34 56 78"],
    ["vaccinations", "vaccine=Infanrix hexa", "date=2019-06-27", "dose=1", "--person", "Léo"],
]
MEASURES = [["height", "1,68 m", "--at", "2025-01-05"], ["weight", "72,5", "--at", "2025-01-05"],
            ["weight", "71,8", "--at", "2025-03-02"], ["weight", "70,9", "--at", "2025-06-01"],
            ["bp", "124/79", "--at", "2025-03-02 08:30"], ["glucose", "5,1 mmol/L"]]


def _soon() -> str:
    """Tomorrow at 14:30, local time."""
    import datetime as dt

    return (dt.date.today() + dt.timedelta(days=1)).isoformat() + " 14:30"


def _profile(env: dict[str, str], root: Path) -> None:
    """The medical profile, a few measurements, and what can be handed to a doctor."""
    for entry in PROFILE:
        _run(env, "profile", "add", *entry)
    for measure in MEASURES:
        _run(env, "measure", "add", *measure)
    for args in (["profile", "show"], ["measure", "list"], ["measure", "chart", "weight",
                                                               "--since", "2y"],
                 ["summary", "--pdf", str(root / "resume.pdf")], ["summary", "--emergency"],
                 ["fhir", "export", "--out", str(root / "ips.json")],
                 ["agenda", "add", "Dentiste", "--at", _soon(), "--duration", "45m",
                  "--where", "Cabinet du Parc", "--remind", "1d,2h"],
                 ["agenda", "list"], ["agenda", "due", "--all"],
                 ["agenda", "plan", "--person", "Léo Martin"],
                 ["agenda", "export", "--ics", str(root / "agenda.ics")], ["remind", "--all"]):
        _run(env, *args)


def main() -> int:
    """Run the tour."""
    root, env = _prepare()
    print(f"Demo vault in {root / 'vault'} (passphrase file: {env['MSANTE_PASSPHRASE_FILE']})")
    _run(env, "init", "--name", "Camille Martin", "--born", "1985-06-02", "--sex", "female",
         "--recovery-key-file", str(root / "recovery-key.txt"))
    _run(env, "people", "add", "Léo Martin", "--born", "2019-04-27", "--sex", "male")
    _run(env, "people", "add", "Jeanne Martin", "--born", "2006-03-14", "--sex", "female")
    _run(env, "unlock", "--timeout", "10m")
    env.pop("MSANTE_PASSPHRASE_FILE")
    samples = root / "samples"
    samples.mkdir()
    _write_samples(samples)
    leo = samples / "echographie.pdf"
    leo.rename(root / "echographie.pdf")
    _run(env, "doc", "import", str(samples))
    _run(env, "doc", "import", str(root / "echographie.pdf"), "--person", "Léo Martin")
    _profile(env, root)
    for args in (["doc", "list"], ["doc", "search", "glycemie"], ["status"],
                 ["people", "list"], ["people", "show", "jeanne martin"],
                 ["backup", "create", "--out", str(root / "backup.msb")],
                 ["audit", "list"], ["audit", "verify"]):
        _run(env, *args)
    from msante import demo_sync

    demo_sync.tour(root, env)
    print(f"\nThe agent keeps the vault unlocked for 10 minutes. Go on with:\n"
          f"  export MSANTE_HOME={root / 'vault'} XDG_RUNTIME_DIR={root / 'run'}\n"
          f"  .venv/bin/msante tui      # the whole record in the terminal (? lists the keys)\n"
          f"  .venv/bin/msante --help\n"
          f"(French: .venv/bin/msante --lang fr --help). 'msante lock' locks it now.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

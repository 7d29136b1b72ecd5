"""The Textual interface: screens over the core API (`msante.api.Vault`), no SQL, no crypto.

The language must be chosen (`msante.i18n.setup`) before this package is imported: binding
descriptions are translated when the screen classes are defined, as the CLI's help texts are.
"""

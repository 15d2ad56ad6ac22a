"""DICOMweb over HTTP: the routes of PS3.18's STOW-RS, QIDO-RS and WADO-RS services."""

"""GE Datex-Ohmeda S/5 Computer Interface, DRI records over RS-232 (S5CI M1017617, DRI 8005313)."""

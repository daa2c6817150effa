"""Philips IntelliVue MP/MX "Data Export" over MIB/RS232 (PIPG, doc 4535 642 59271)."""

"""Serial pulse oximeters: Masimo ASCII, Nonin serial formats, Contec CMS50 (both generations).

Pure parsers (`*_protocol.py`: bytes in, frozen frames out), one shared non-blocking
transport (`transport.py`), and drivers (`masimo.py`, `nonin.py`, `contec.py`) that turn
frames into numerics, pleth chunks and device conditions.
"""

"""LAN scans with nmap and their reconciliation with the store and register."""

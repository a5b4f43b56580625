"""The raft adapter over PySyncObj: membership, propose, reads, backups."""

"""The full-screen Textual app of tvirt. Only the core (tvirt.*) talks to libvirt."""

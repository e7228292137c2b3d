"""Operations: the one entry point for each thing tvirt reads or changes on a host.

The full-screen app and every plain command call these; neither touches a virConnect.
Each operation does, once: the lookup (a VM by UUID), the read-only refusal, the run on
the host's worker thread (the only thread that may use its connection), and the turning
of a libvirt failure into a TvirtError sentence. It returns a concurrent Future: a
screen awaits it (asyncio.wrap_future), a command waits on it (tvirt.cli.plumbing.wait).
"""

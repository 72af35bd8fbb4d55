"""Reading a running process's memory high-water mark from /proc (shared by the bench scripts)."""


def peak_rss_kib(pid):
    """The process's resident-set high-water mark (VmHWM, KiB), or None once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None

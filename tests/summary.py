"""Print the suite's closing line from meson's testlog.json: 'N passed, N failed, N skipped'.

    summary.py [NAME=]testlog.json ... [--reports DIR]

Counts individual test cases where a test reports them (doctest's and
pytest's JUnit-free summaries are parsed from their output); a meson test
that failed without a parsable count counts as one failure.

A test whose output holds a sanitizer's report fails, whatever its status.
Several test logs (tests/run's release, ASan+UBSan and TSan builds) are
added up into the one closing line; each named one also gets a line of its
own ("asan: N passed, ..."), printed before it. Every file in a --reports
folder is a sanitizer report (ASan, UBSan, LSan or TSan write one per
process that found something, wherever its output went): each is printed
and counts as one failure, so a report cannot pass unseen.
"""
import json
import os
import re
import sys

DOCTEST = re.compile(r"test cases:\s*(\d+)\s*\|\s*(\d+) passed\s*\|\s*(\d+) failed\s*\|\s*(\d+) skipped")
PYTEST_PART = re.compile(r"(\d+) (passed|failed|error|errors|skipped|xfailed|xpassed)")
REPORT_LINES = 60  # of each sanitizer report, printed
# What a sanitizer prints; UBSan in an ASan build writes to stderr whatever
# log_path says, so a test's own output is searched too.
SANITIZER = re.compile(r"runtime error:|ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer")


def counts(entry):
    out = entry.get("stdout", "") or ""
    m = DOCTEST.search(out)
    if m:
        return int(m.group(2)), int(m.group(3)), int(m.group(4))
    lines = [line for line in out.splitlines() if re.search(r"\d+ (passed|failed|error)", line)]
    if lines:
        found = {kind: int(n) for n, kind in PYTEST_PART.findall(lines[-1])}
        failed = found.get("failed", 0) + found.get("error", 0) + found.get("errors", 0)
        return found.get("passed", 0), failed, found.get("skipped", 0)
    return (1, 0, 0) if entry.get("result") == "OK" else (0, 1, 0)


def totals(path):
    passed = failed = skipped = 0
    with open(path) as f:
        for line in f:
            entry = json.loads(line)
            p, fl, s = counts(entry)
            if entry.get("result") not in ("OK", "SKIP") and fl == 0:
                fl = 1  # crashed or timed out before reporting
            if SANITIZER.search((entry.get("stdout") or "") + (entry.get("stderr") or "")):
                print(f"sanitizer output in {entry.get('name')} ({path})")
                fl = max(fl, 1)
            passed, failed, skipped = passed + p, failed + fl, skipped + s
    return passed, failed, skipped


def reports(folder):
    """Print each sanitizer report in folder; return how many there were."""
    if not folder or not os.path.isdir(folder):
        return 0
    names = sorted(n for n in os.listdir(folder) if os.path.getsize(os.path.join(folder, n)) > 0)
    for name in names:
        with open(os.path.join(folder, name), errors="replace") as f:
            text = f.read().splitlines()
        print(f"sanitizer report {name} ({len(text)} lines):")
        print("\n".join(text[:REPORT_LINES]))
    return len(names)


def line(p, f, s):
    return f"{p} passed, {f} failed, {s} skipped"


def main(argv):
    folder = None
    if "--reports" in argv:
        i = argv.index("--reports")
        folder = argv[i + 1]
        argv = argv[:i] + argv[i + 2:]
    passed = failed = skipped = 0
    for arg in argv:
        name, sep, path = arg.partition("=")
        if not sep:
            name, path = "", arg
        p, f, s = totals(path)
        if len(argv) > 1:
            print(f"{name or path}: {line(p, f, s)}")
        passed, failed, skipped = passed + p, failed + f, skipped + s
    found = reports(folder)
    if found:
        print(f"sanitizer reports: {found} (each counted as a failure)")
    print(line(passed, failed + found, skipped))


if __name__ == "__main__":
    main(sys.argv[1:])

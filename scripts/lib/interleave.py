"""Times two commands alternately (A B, B A, A B, ...), so that whatever else the machine does
weighs on both alike, and splits their cost into wall, user and system time (getrusage).
Usage: python3 scripts/lib/interleave.py RUNS NAME_A "COMMAND A" NAME_B "COMMAND B"."""
import resource, shlex, statistics, subprocess, sys, time

runs, name_a, command_a, name_b, command_b = int(sys.argv[1]), *sys.argv[2:6]
commands = {name_a: shlex.split(command_a), name_b: shlex.split(command_b)}
wall = {name: [] for name in commands}
user = {name: 0.0 for name in commands}
system = {name: 0.0 for name in commands}
for name in commands:
    subprocess.run(commands[name], stdout=subprocess.DEVNULL, check=True)
for i in range(runs):
    for name in (list(commands) if i % 2 == 0 else list(commands)[::-1]):
        before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
        subprocess.run(commands[name], stdout=subprocess.DEVNULL, check=True)
        wall[name].append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        user[name] += after.ru_utime - before.ru_utime
        system[name] += after.ru_stime - before.ru_stime
for name in commands:
    print("%-40s wall median %.2f ms, user %.2f ms, system %.2f ms (mean of %d, interleaved)"
          % (name, 1000 * statistics.median(wall[name]), 1000 * user[name] / runs, 1000 * system[name] / runs, runs))

#!/usr/bin/env python3
"""Writes bench/PERFORMANCE.md (the README's Performance section) from one real run of the harness.

    scons bench BENCHFLAGS='--json build/bench/run.json' | tee build/bench/run.txt
    cp build/bench/copy.svg build/bench/copy.png build/bench/run.json bench/results/
    python3 bench/results/make_snippet.py build/bench/run.txt bench/results/run.json > bench/PERFORMANCE.md

The fallback part (bench/fallback.c) comes from the JSON's "fallback" object: {"level": "avx2",
"measured": true, "vector", "glibc_memcpy", "glibc_memset", "groups": ["copy@avx2", "memset@avx2"],
"goals_met", "goals_missed", "seconds"}, its rows among "rows" (groups copy@avx2/SIZE, memset@avx2/SIZE)
and its worst ratios among "notes"; {"level": null, "why": ...} when the run had none. A run.json
written before the part existed has no "fallback" key: its snippet has no fallback section.
"""
import json
import sys


# Fixed text after the run's: the measurements behind design choices (they stay out of code comments).
DESIGN_NOTES = """
### Measurements behind usertrap's design choices

Earlier measurements on an AMD EPYC with AVX-512 (2 vCPU VM, the machine of the runs before the Intel
Xeon's), kept here rather than in code comments; the bench rows `syscall/getppid/*` measure the current
code.

- getppid through a patched site with a pass-through hook, by vector-save mode: native 49 ns; plain
  moves of every vector register (the default) 72 ns (1.45-1.55x); no vector save
  (`USERTRAP_HOOK_NO_VECTOR`) 58-61 ns (1.2x); XSAVEC or XSAVE 197-206 ns; the same site through
  Syscall User Dispatch, unpatched, 765-810 ns.
- The trampoline alone (a hook that answers without a system call): plain moves 16-17 ns, no vector
  save 8 ns, XSAVEC 146-152 ns. XRSTOR alone costs 130-200 ns on that CPU whatever the component mask
  (x87+SSE only up to all of AVX-512), which is why plain moves are the default there; XGETBV(ECX=1)
  takes 35-55 ns, more than the moves `USERTRAP_VECTOR_INUSE` would spare.
- On the Intel Xeon XGETBV(ECX=1) takes 4.7 ns, and the plain moves' 512-bit restores of zmm0-15 put
  their upper halves in use for good (XINUSE 0xa2 at glibc's sites, 0xe7 after the first patched call):
  every legacy-SSE instruction of the program and every XSAVE after it then pays. Under the preload,
  `find /usr/include` took 1.24-1.34x its plain time with the plain moves, 1.09-1.11x with the XINUSE
  body, which is therefore the default on Intel CPUs.
- An indirect jump as the first branch after the return from the kernel cost ~5 ns per call on the
  Xeon (a getppid loop: 78 ns against 73 ns): the trap table's gates take a direct `jmp` first.
- Restoring MXCSR and the x87 control word only when the hook changed them was tried: the extra
  `stmxcsr`/`fnstcw` cost more than the restore they saved.
- Counting trampoline calls with a locked increment cost 5-7 ns per call: each thread counts in a
  cell of its own instead."""


def rows_by_name(run):
    return {r['name']: r for r in run['rows']}


# The sizes the alternatives are measured at (bench_sizes' key sizes): the fallback part's key rows.
KEY_SIZES = ('8B', '64B', '512B', '4KiB', '64KiB', '1MiB', '64MiB')


def fallback_part(run):
    """The run's fallback part ("fallback" in its JSON) if it measured one; None for older runs."""
    f = run.get('fallback')
    return f if f and f.get('level') and f.get('measured') else None


def in_fallback_part(run, row):
    """Whether a row belongs to the fallback part (groups copy@LEVEL/SIZE, memset@LEVEL/SIZE)."""
    f = fallback_part(run)
    return bool(f) and row['group'].split('/')[0] in f['groups']


def t(ns):
    """The harness's time format: 2.41 ns, 310 ns, 1.02 us, 6.01 ms."""
    if ns < 9.995:
        return '%.2f ns' % ns
    if ns < 999.5:
        return '%.1f ns' % ns if ns < 99.95 else '%.0f ns' % ns
    if ns < 999.5e3:
        return '%.2f us' % (ns / 1e3)
    return '%.2f ms' % (ns / 1e6)


def x(v):
    return '%.2fx' % v if v < 9.995 else ('%.1fx' % v if v < 99.95 else '%.0fx' % v)


def fallback_section(run, r, part, w):
    """The fallback part: its key rows, each group's worst ratio (from the notes) and its goals."""
    level = part['level']
    w('### At the level below: the forced fallback (%s)' % level)
    w('')
    w('The same run measured the copy and memset groups again at %s, as on a CPU without the level the'
      % level)
    w('table above ran at, against glibc capped alike (`GLIBC_TUNABLES=glibc.cpu.hwcaps=...`: glibc ran')
    w('`%s` and `%s`); every power of two from 8 B to 64 MiB, the key sizes here:'
      % (part['glibc_memcpy'], part['glibc_memset']))
    w('')
    w('| size | copy: safecopy | memcpy | ratio | memset: safecopy | memset | ratio |')
    w('|---|---|---|---|---|---|---|')
    for size in KEY_SIZES:
        c, m = 'copy@%s/%s/' % (level, size), 'memset@%s/%s/' % (level, size)
        cells = []
        for g, base in ((c, 'memcpy'), (m, 'memset')):
            if g + 'safecopy' in r and g + base in r:
                cells += [t(r[g + 'safecopy']['median_ns']), t(r[g + base]['median_ns']), x(r[g + 'safecopy']['ratio'])]
            else:
                cells += ['-', '-', '-']
        w('| %s | %s |' % (size, ' | '.join(cells)))
    w('')
    for note in run.get('notes', []):
        head = note.split(':')[0]
        if 'worst ratio' in note and '@' in head:
            w('- ' + note.replace('*: ', ' (every power of two from 8 B to 64 MiB): ', 1) + '.')
    missed = [x_['name'] for x_ in run['rows'] if in_fallback_part(run, x_) and x_.get('goal', {}).get('met') is False]
    w('- Goals at %s: %d met, %d missed%s.' % (level, part['goals_met'], part['goals_missed'],
                                             (': ' + ', '.join(missed)) if missed else ''))
    w('')


def main():
    text = open(sys.argv[1]).read().splitlines()
    run = json.load(open(sys.argv[2]))
    r = rows_by_name(run)
    start = next(i for i, l in enumerate(text) if l.startswith('safecopy bench'))
    end = next(i for i, l in enumerate(text) if l.startswith('run time:'))
    table = [l.rstrip() for l in text[start:end + 1]]

    def med(name):
        return r[name]['median_ns']

    out = []
    w = out.append
    w('## Performance')
    w('')
    w('`scons bench` builds the release variant and runs the harness in bench/ (about a minute; `BENCHFLAGS=--quick`')
    w('for a few seconds, `--filter copy/64B` to pick rows, `--json`/`--csv FILE` for machines). Every figure')
    w('comes from the same run: the median of 101 batches of >= 1 ms after warm-up (min and max are printed')
    w('too), the methods of a group taking turns batch by batch, in a new order each round; a batch during')
    w('which another task took the CPU is run again. A ratio is the median over the rounds of the two rows\'')
    w('times in the same round, so a slow phase of the machine does not land on one method only; `--aa` adds')
    w('a row per group that times the base method twice, the harness\'s own error (within 0.97-1.03x here).')
    if fallback_part(run):
        w('After the table the same run measures the copy and memset groups again at the vector level below')
        w('(the forced fallback, against glibc capped alike: `copy@LEVEL/...`, `memset@LEVEL/...`; `--cpu LEVEL`')
        w('measures one level only).')
    w('The goals below are goals: the harness reports them, no test asserts timings.')
    w('')
    w('One run on a %d-CPU machine, %s, Linux %s, glibc %s, %s (%s; other processes used %.2f CPUs'
      ' meanwhile):' % (run['ncpu'], run['cpu'], run['kernel'].split()[1], run['glibc'], run['compiler'].split(',')[0],
                        run['date'], run['others_cpus']))
    w('')
    w('| | safecopy | baseline | alternatives |')
    w('|---|---|---|---|')
    for size in ('8B', '64B'):
        g = 'copy/' + size
        w('| copy %s | %s | memcpy %s (%s) | process_vm_readv %s (%s slower), sigsetjmp+memcpy %s (%s slower), '
          'libsigsegv %s |' % (size, t(med(g + '/safecopy')), t(med(g + '/memcpy')), x(r[g + '/safecopy']['ratio']),
                               t(med(g + '/process_vm_readv')), x(med(g + '/process_vm_readv') / med(g + '/safecopy')),
                               t(med(g + '/sigsetjmp')), x(med(g + '/sigsetjmp') / med(g + '/safecopy')),
                               t(med(g + '/libsigsegv'))))
    for size in ('4KiB', '1MiB', '64MiB'):
        g = 'copy/' + size
        w('| copy %s | %.1f GB/s | memcpy %.1f GB/s | process_vm_readv %.1f GB/s, /proc/self/mem %.1f GB/s |'
          % (size, r[g + '/safecopy']['gbps'], r[g + '/memcpy']['gbps'], r[g + '/process_vm_readv']['gbps'],
             r[g + '/proc_self_mem']['gbps']))
    for op in ('load64', 'cas64', 'fetch_add64'):
        g = 'atomic/' + op
        base = r[g + '/safecopy']['base']
        w('| %s | %s | %s %s | |' % (op, t(med(g + '/safecopy')), 'call' if base == 'noinline' else '__atomic',
                                     t(med(g + '/' + base))))
    g = 'fault/8B'
    w('| fault (8 B from PROT_NONE) | %s (%s through the program\'s own handler and safecopy_handle_signal) | '
      'bare signal round trip %s (%s) | sigsetjmp %s, libsigsegv %s, process_vm_readv EFAULT %s |'
      % (t(med(g + '/safecopy')), t(med(g + '/safecopy_embedded')), t(med(g + '/bare_signal')),
         x(r[g + '/safecopy']['ratio']), t(med(g + '/sigsetjmp')), t(med(g + '/libsigsegv')),
         t(med(g + '/process_vm_readv'))))
    g = 'mixed/8-64B'
    w('| emulator-like mix, 1 bad pointer in 1000 | %s per copy | sigsetjmp per copy %s (%s slower) | '
      'libsigsegv %s, plain memcpy that knows the bad ones %s |'
      % (t(med(g + '/safecopy')), t(med(g + '/sigsetjmp')), x(med(g + '/sigsetjmp') / med(g + '/safecopy')),
         t(med(g + '/libsigsegv')), t(med(g + '/memcpy_oracle'))))
    g = 'syscall/getppid'
    if g + '/native' in r:
        w('| usertrap: getppid through a patched site | %s pass-through (%s native), %s with a hook flagged'
          ' USERTRAP_HOOK_NO_VECTOR (%s) | native %s | Syscall User Dispatch alone %s (%s slower than patched),'
          ' XSAVEC/XRSTOR save %s, hook answering itself %s |'
          % (t(med(g + '/patched')), x(r[g + '/patched']['ratio']), t(med(g + '/patched_novec')),
             x(r[g + '/patched_novec']['ratio']), t(med(g + '/native')), t(med(g + '/sud_only')),
             x(med(g + '/sud_only') / med(g + '/patched')), t(med(g + '/patched_xsavec')), t(med(g + '/answer'))))
    w('')
    w('![copy throughput against size, log-log](bench/results/copy.png)')
    w('')
    met = sum(1 for x_ in run['rows'] if x_.get('goal', {}).get('met') is True)
    missed = [x_ for x_ in run['rows'] if x_.get('goal', {}).get('met') is False]
    w('Goals (per row in the table and the plot): copies and sets of every size from 8 B to 64 MiB <= 1.1x glibc\'s')
    w('time, copies from 1 MiB <= 0.9x; 8-64 B copies >= 50x faster than process_vm_readv and')
    w('>= 15x faster than sigsetjmp(env, 1)+memcpy;')
    w('read-modify-write atomics <= 1.15x the `__atomic` builtin, loads/stores <= 1.15x a non-inlined function doing')
    w('the same access (also when each load\'s value feeds the next: the `load*/dep` rows); the fault path <= 0.8x')
    w('the bare signal round trip (it leaves its handler by a jump); a patched syscall site with a')
    w('pass-through hook <= 1.3x the native call and >= 10x faster than Syscall User Dispatch alone; in a thread')
    w('that Syscall User Dispatch captures, <= 1.3x the same call in a thread merely armed with it (`read64/native_armed`:')
    w('the kernel takes a slower entry path for every call of such a thread, even one it lets through).')
    part = fallback_part(run)
    part_note = ''
    if part:
        part_note = ' (%d met, %d missed of them at the fallback level %s, below)' % (
            part['goals_met'], part['goals_missed'], part['level'])
    w('In this run: %d met, %d missed%s%s.'
      % (met, len(missed), part_note, (': ' + ', '.join(m['name'] for m in missed)) if missed else ''))
    w('')
    if part:
        fallback_section(run, r, part, w)
    elif 'fallback' in run and run['fallback'].get('level') is None:
        w('This run has no fallback part: %s.' % run['fallback']['why'])
        w('')
    w('What the run also shows:')
    w('')
    big = [s_ for s_ in ('1MiB', '64MiB') if r['copy/%s/safecopy' % s_]['ratio'] < 0.97]
    if big:
        how = ('non-temporal stores from 48 MiB on an Intel CPU, where glibc 2.36 runs `rep movsb` up to its'
               ' non-temporal threshold' if 'Intel' in run.get('cpu', '') else '`rep movsb`')
        w('- At %s safecopy_memcpy (%s) is faster than glibc\'s memcpy on this CPU (%s).'
          % (' and '.join(big), how,
             ', '.join('%.2fx the time' % r['copy/%s/safecopy' % s_]['ratio'] for s_ in big)))
    for note in run.get('notes', []):
        if 'worst ratio' in note and '@' not in note.split(':')[0]:
            w('- ' + note.replace('*: ', ' (every power of two from 8 B to 64 MiB, in the plot): ', 1) + '.')
    m = r.get('memset/64MiB/safecopy')
    if m and m.get('goal', {}).get('met') is False:
        w('- memset at 64 MiB is `rep stosb` on both sides (glibc 2.36 uses it there too); the %s (time) gap is'
          % x(m['ratio']))
        w('  within this row\'s run-to-run spread (0.93x-1.03x over four runs; a standalone alternating loop')
        w('  of the two gives 0.98x-1.03x).')
    w('- Rows of 1-2 ns move by up to ~20% from one run to the next (code and data placement, the')
    w('  CPU\'s memory-dependence prediction); compare their ratios over a few runs, not one.')
    f = 'fault/8B/'
    w('- On the fault path safecopy takes %s the bare `rt_sigreturn` round trip.' % x(r[f + 'safecopy']['ratio']))
    if min(med(f + 'sigsetjmp'), med(f + 'libsigsegv')) < med(f + 'bare_signal'):
        w('  sigsetjmp (%s) and libsigsegv (%s) are faster than that round trip: they leave the handler by'
          % (x(r[f + 'sigsetjmp']['ratio']), x(r[f + 'libsigsegv']['ratio'])))
        w('  jumping, which skips rt_sigreturn\'s restore of the whole register state (with AVX-512 here).')
    w('  `bare_no_sigreturn`, a handler that jumps back to the interrupted code itself, takes %s: the'
      % x(r[f + 'bare_no_sigreturn']['ratio']))
    w('  fault path\'s real floor on this machine is below the goal\'s reference.')
    if g + '/native' in r:
        def over(m):
            return t(med(g + '/' + m) - med(g + '/native'))
        w('- A patched syscall costs the trampoline\'s register saves plus the hook call: %s with the default'
          % over('patched'))
        if 'Intel' in run.get('cpu', '') and g + '/patched_regs' in r:
            w('  vector save (on every CPU with XINUSE but AMD\'s, only the state components XINUSE reports in use,')
            w('  because a C hook may clobber any vector register; upper halves not in use at the site are left')
            w('  so), %s with plain'
              % over('patched_regs'))
            w('  moves of every zmm and k register (`patched_regs`: they leave the upper halves of zmm0-15 in use,')
            w('  which the program\'s later SSE code pays for), %s when the hook promises not to touch vector'
              % over('patched_novec'))
            w('  state.')
        else:
            w('  vector save (plain moves of every zmm/ymm/xmm and k register, because a C hook may clobber any of')
            w('  them), %s when the hook promises not to touch vector state.' % over('patched_novec'))
        w('  XSAVEC/XRSTOR costs %s more than the default.' % t(med(g + '/patched_xsavec') - med(g + '/patched')))
        w('  At patched glibc sites (`xinuse_census`, below bench/programs) SSE, the opmask registers and')
        w('  zmm16-31 are in use at every call, the upper halves of zmm0-15 at none (glibc\'s EVEX functions')
        w('  work in ymm16-31 and end with vzeroupper). XGETBV(ECX=1), which the XINUSE body needs, takes')
        w('  4.7 ns on the Intel Xeon and 35-55 ns on the AMD EPYC measured before, where the plain moves stay')
        w('  the default.')
    w('- pread of /proc/self/mem reads PROT_NONE pages (the kernel forces the access, as for a debugger), so')
    w('  it cannot detect them at all; its fault row reads an unmapped page instead.')
    w('')
    w('<details><summary>The whole table of that run</summary>')
    w('')
    w('```')
    out.extend(table)
    w('```')
    w('</details>')
    out.append(DESIGN_NOTES)
    print('\n'.join(out))


main()

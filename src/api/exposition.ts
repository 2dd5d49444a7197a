// Several Prometheus text expositions of the same metric families (one per service's gateway) in one:
// each family's HELP and TYPE once, then every service's samples, each labelled with its service. The
// text format forbids a family appearing twice, which plain concatenation would do.

interface Family {
  readonly head: string[];
  readonly samples: string[];
}

/** Add `service="NAME"` as the first label of a sample line. */
function labelled(line: string, service: string): string {
  const label = `service="${service.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
  const brace = line.indexOf('{');
  const space = line.indexOf(' ');
  if (brace >= 0 && (space < 0 || brace < space)) return `${line.slice(0, brace + 1)}${label}${line[brace + 1] === '}' ? '' : ','}${line.slice(brace + 1)}`;
  return space < 0 ? line : `${line.slice(0, space)}{${label}}${line.slice(space)}`;
}

export function mergeExpositions(parts: readonly { readonly name: string; readonly text: string }[]): string {
  const families = new Map<string, Family>();
  for (const p of parts) {
    let current: Family | undefined;
    for (const line of p.text.split('\n')) {
      if (line === '') continue;
      const m = /^# (HELP|TYPE) (\S+)/.exec(line);
      if (m) {
        const name = m[2] as string;
        let f = families.get(name);
        if (!f) families.set(name, (f = { head: [], samples: [] }));
        if (!f.head.some((h) => h.startsWith(`# ${m[1]} `))) f.head.push(line);
        current = f;
      } else if (line.startsWith('#')) continue;
      else current?.samples.push(labelled(line, p.name));
    }
  }
  let out = '';
  for (const f of families.values()) out += `${[...f.head, ...f.samples].join('\n')}\n`;
  return out;
}

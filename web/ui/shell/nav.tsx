/** The left navigation: one link per section, the current one marked. */
import { href } from '../router.js';

const SECTIONS = [
  { page: 'query', label: 'Query' },
  { page: 'browse', label: 'Browse' },
  { page: 'runs', label: 'Runs' },
  { page: 'lineage', label: 'Lineage' },
] as const;

export function Nav(props: { current: string }) {
  return (
    <nav class="nav" data-testid="nav">
      {SECTIONS.map((section) => (
        <a
          key={section.page}
          href={href([section.page])}
          class={props.current === section.page ? 'nav-link current' : 'nav-link'}
          aria-current={props.current === section.page ? 'page' : undefined}
        >
          {section.label}
        </a>
      ))}
    </nav>
  );
}

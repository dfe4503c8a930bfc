/** GitLab's offset pagination: `page`/`per_page` in, `x-*` headers and an RFC 8288 `Link` header out. */
import type { Context } from 'hono';
import { BadRequest } from './errors.js';

const MAX_PER_PAGE = 100;

function positiveInteger(c: Context, name: string, fallback: number): number {
  const raw = c.req.query(name);
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new BadRequest(`${name} is invalid`);
  return Number(raw);
}

/** Answers one page of `items` with GitLab's pagination headers. */
export function paginate<T>(c: Context, items: T[], baseUrl: string) {
  const page = positiveInteger(c, 'page', 1);
  const perPage = Math.min(positiveInteger(c, 'per_page', 20), MAX_PER_PAGE);
  const totalPages = Math.max(1, Math.ceil(items.length / perPage));
  const slice = items.slice((page - 1) * perPage, page * perPage);
  const link = (target: number) => {
    const url = new URL(c.req.url);
    const base = new URL(baseUrl);
    url.protocol = base.protocol;
    url.host = base.host;
    url.searchParams.set('page', String(target));
    url.searchParams.set('per_page', String(perPage));
    return url.toString();
  };
  const links: string[] = [];
  if (page > 1) links.push(`<${link(page - 1)}>; rel="prev"`);
  if (page < totalPages) links.push(`<${link(page + 1)}>; rel="next"`);
  links.push(`<${link(1)}>; rel="first"`, `<${link(totalPages)}>; rel="last"`);
  c.header('x-page', String(page));
  c.header('x-per-page', String(perPage));
  c.header('x-total', String(items.length));
  c.header('x-total-pages', String(totalPages));
  c.header('x-next-page', page < totalPages ? String(page + 1) : '');
  c.header('x-prev-page', page > 1 ? String(page - 1) : '');
  c.header('link', links.join(', '));
  return c.json(slice);
}

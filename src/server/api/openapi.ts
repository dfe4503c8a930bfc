/** The OpenAPI 3.1 document of /api/v1, served at /api/v1/openapi.json. */
import { z } from 'zod';
import { RESOURCE_USAGE_HEADER, resourceUsageSchema } from '../../core/resource-usage.js';
import { bumpSchema, controlBuildSetSchema, createNamespaceSchema, releaseSchema } from './schemas.js';

const error = { $ref: '#/components/schemas/Error' };
const errors = (...codes: number[]) => Object.fromEntries(codes.map((code) => [String(code), { description: 'error', content: { 'application/json': { schema: error } } }]));
const json = (description: string, schema: object = { type: 'object' }) => ({ description, content: { 'application/json': { schema } } });
const name = { name: 'name', in: 'path', required: true, schema: { type: 'string' } };
const secured = [{ bearer: [] }];

/** The document. */
export function openApiDocument() {
  return {
    openapi: '3.1.0',
    info: { title: 'quarters', version: '1', description: 'Build sets (namespaces), iterations, builds and artifact uploads. Every error is JSON {error, detail}.' },
    servers: [{ url: '/api/v1' }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'an [api] token (writes)' },
        executor: { type: 'http', scheme: 'bearer', description: 'an [executor] token (uploads), with X-Job-Token: the job\'s CI_JOB_TOKEN' },
      },
      schemas: {
        Error: { type: 'object', required: ['error', 'detail'], properties: { error: { type: 'string' }, detail: { type: 'string' } } },
        CreateNamespace: z.toJSONSchema(createNamespaceSchema),
        ControlBuildSet: z.toJSONSchema(controlBuildSetSchema),
        Release: z.toJSONSchema(releaseSchema),
        Bump: z.toJSONSchema(bumpSchema),
        ArchDiff: {
          type: 'object',
          description: 'what a release changes in one architecture\'s repository; each change {name, from, to, filename}',
          properties: { arch: { type: 'string' }, added: { type: 'array' }, upgraded: { type: 'array' }, downgraded: { type: 'array' }, removed: { type: 'array' }, unchanged: { type: 'array', description: 'already there at that version: kept as they are' } },
        },
        ResourceUsage: z.toJSONSchema(resourceUsageSchema),
        RunningBuild: {
          type: 'object',
          required: ['build_id', 'namespace', 'pkgbase', 'arch', 'pass', 'job_id', 'job_url', 'pipeline_url', 'started_at', 'elapsed_seconds'],
          properties: {
            build_id: { type: 'integer' }, namespace: { type: 'string' }, pkgbase: { type: 'string' }, arch: { type: 'string' }, pass: { type: 'integer' },
            job_id: { type: ['integer', 'null'], description: 'the job running it, once a Job Hook or an executor report named it' },
            job_url: { type: ['string', 'null'] }, pipeline_url: { type: ['string', 'null'] },
            started_at: { type: ['string', 'null'] }, elapsed_seconds: { type: ['integer', 'null'] },
          },
        },
        Builders: {
          type: 'object',
          required: ['generated_at', 'since', 'builders', 'queue'],
          properties: {
            generated_at: { type: 'string' },
            since: { type: 'string', description: 'runners count as recent from this time on' },
            builders: {
              type: 'array',
              items: {
                type: 'object',
                required: ['runner', 'last_seen_at', 'recent_jobs', 'running'],
                properties: {
                  runner: { description: 'the GitLab runner (id, description); null gathers builds running on a runner nothing named yet', anyOf: [{ type: 'object', properties: { id: { type: 'integer' }, description: { type: ['string', 'null'] } } }, { type: 'null' }] },
                  last_seen_at: { type: ['string', 'null'] },
                  recent_jobs: { type: 'integer', description: 'jobs of quarters builds it took since `since`' },
                  running: { type: 'array', items: { $ref: '#/components/schemas/RunningBuild' } },
                },
              },
            },
            queue: {
              type: 'array',
              description: 'builds dispatched (pipeline created) whose job has not started, longest waiting first',
              items: {
                type: 'object',
                properties: {
                  build_id: { type: 'integer' }, namespace: { type: 'string' }, pkgbase: { type: 'string' }, arch: { type: 'string' }, pass: { type: 'integer' },
                  pipeline_id: { type: ['integer', 'null'] }, pipeline_url: { type: ['string', 'null'] }, job_id: { type: ['integer', 'null'] },
                  dispatched_at: { type: ['string', 'null'] }, waiting_seconds: { type: ['integer', 'null'] },
                },
              },
            },
          },
        },
        Build: {
          type: 'object',
          properties: {
            ...Object.fromEntries(
              ['id', 'pkgbase', 'arch', 'version', 'state', 'reason', 'packager', 'project', 'ref', 'sha', 'commit', 'pipeline_id', 'pipeline_url', 'started_at', 'finished_at', 'duration_seconds', 'artifacts'].map((k) => [k, {}]),
            ),
            resource_usage: { description: 'what the build used, as its executor reported it (failed builds too); null before any report', anyOf: [{ $ref: '#/components/schemas/ResourceUsage' }, { type: 'null' }] },
          },
        },
      },
    },
    paths: {
      '/namespaces': {
        get: { summary: 'List build sets', responses: { 200: json('build sets') } },
        post: {
          summary: 'Create a build set from origin changesets (pkgbase@ref)',
          security: secured,
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/CreateNamespace' } } } },
          responses: { 201: json('the build set, with its first iteration\'s builds'), ...errors(400, 401, 409, 422) },
        },
      },
      '/namespaces/{name}': { get: { summary: 'A build set and its latest iteration\'s builds (pkgbase, arch, state, pipeline_id…)', parameters: [name], responses: { 200: json('build set'), ...errors(404) } } },
      '/namespaces/{name}/iterations': { get: { summary: 'Iterations of a build set', parameters: [name], responses: { 200: json('iterations'), ...errors(404) } } },
      '/namespaces/{name}/iterations/{number}': {
        get: { summary: 'One iteration with its builds', parameters: [name, { name: 'number', in: 'path', required: true, schema: { type: 'integer' } }], responses: { 200: json('iteration'), ...errors(400, 404) } },
      },
      '/namespaces/{name}/images': {
        get: {
          summary: 'The disk images ([[images]]) of an iteration (the latest, or ?iteration=N): name, arch, state, reason, file, size, sha256, url, log_url',
          parameters: [name, { name: 'iteration', in: 'query', required: false, schema: { type: 'string' } }],
          responses: { 200: json('images'), ...errors(404) },
        },
        post: {
          summary: 'Build a configured image ({"image": NAME, "arch"?: ARCH}) from the latest iteration, for every architecture whose builds are all built; a built or building one is left as it is',
          security: secured,
          parameters: [name],
          requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['image'], properties: { image: { type: 'string' }, arch: { type: 'string' } }, additionalProperties: false } } } },
          responses: { 202: json('the images, building or built'), ...errors(400, 401, 404, 409) },
        },
      },
      '/namespaces/{name}/install': {
        get: {
          summary: 'How to use the build set\'s repository: {repository_url, architectures, signing_key ({url, fingerprint} or null), snippet (Markdown: the key\'s import, then a pacman.conf section with SigLevel = Required, or sources.list lines with signed-by; unsigned: SigLevel = Optional TrustAll, trusted=yes)}',
          parameters: [name],
          responses: { 200: json('install'), ...errors(404) },
        },
      },
      '/namespaces/{name}/graph': { get: { summary: 'The latest iteration as a graph: builds, dependency edges, cycles', parameters: [name], responses: { 200: json('graph'), ...errors(404) } } },
      ...Object.fromEntries(
        ([
          ['cancel', 'Cancel every unfinished build and its pipeline (or only the named pkgbases\' builds: the set stays active, what needs them becomes dependency-failed)'],
          ['resume', 'Resume a cancelled build set (or only the named pkgbases\' cancelled builds)'],
          ['retry', 'Retry failed builds (or only the named pkgbases\'), by a GitLab pipeline retry when possible'],
        ] as const).map(([action, summary]) => [
          `/namespaces/{name}/${action}`,
          {
            post: {
              summary,
              security: secured,
              parameters: [name],
              requestBody: { required: false, content: { 'application/json': { schema: { $ref: '#/components/schemas/ControlBuildSet' } } } },
              responses: { 200: json('build set'), ...errors(400, 401, 404, 409, 422) },
            },
          },
        ]),
      ),
      '/namespaces/{name}/release': {
        post: {
          summary: 'Release the build set\'s latest iteration into a distribution repository ([repositories.NAME]): every build built (or its pkgbase left out with partial), no version going backwards (unless force); dry_run answers with the diff and changes nothing',
          security: secured,
          parameters: [name],
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/Release' } } } },
          responses: {
            200: json('dry run: {namespace, iteration, repository, dry_run, diffs: ArchDiff[], release: null}'),
            201: json('released: the same, with the recorded release'),
            ...errors(400, 401, 404, 409, 422),
            503: { description: 'signing_failed: the signing key cannot sign; nothing was changed', content: { 'application/json': { schema: error } } },
          },
        },
      },
      '/namespaces/{name}/bump': {
        post: {
          summary: 'Mass rebuild with version bumps: one branch, commit and merge request per repository bumping the release of the packages the latest iteration rebuilds (not its origins); the next iteration builds them from those branches. Starts, or resumes the open bump (nothing made twice); the work goes on after the answer',
          security: secured,
          parameters: [name],
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/Bump' } } } },
          responses: { 202: json('the bump: {namespace, iteration, reason, branch, maintainer, actor, created_at, state, counts, repositories}'), ...errors(400, 401, 404, 409) },
        },
        get: {
          summary: 'The latest bump and each repository\'s progress: pending, opened, merged, closed, failed (with the error)',
          parameters: [name],
          responses: { 200: json('the bump'), ...errors(404) },
        },
      },
      '/gc': {
        post: {
          summary: 'Apply the retention policy ([retention]) now: superseded and retired build sets\' iterations expire, with their repositories, the package files only they name, their logs and their disk images; never what a release still in a distribution repository was made from, nor an iteration with a build or image on its way. With dry_run, only what would go. The answer lists the iterations (namespace, iteration, why, already_expired), the kept iterations whose logs go, every file (path under data_dir, kind repository|package|log|image, bytes) and total_bytes freed',
          security: secured,
          requestBody: { required: false, content: { 'application/json': { schema: { type: 'object', properties: { dry_run: { type: 'boolean' } }, additionalProperties: false } } } },
          responses: { 200: json('what went (or would go)'), ...errors(400, 401) },
        },
      },
      '/releases': {
        get: {
          summary: 'Releases, newest first: repository, build set and iteration, who (the API token\'s identity, token:SHA256-PREFIX), when, what changed, state (publishing, published, failed, interrupted)',
          parameters: [{ name: 'repository', in: 'query', required: false, schema: { type: 'string' } }, { name: 'namespace', in: 'query', required: false, schema: { type: 'string' } }],
          responses: { 200: json('releases') },
        },
      },
      '/releases/{id}': { get: { summary: 'One release, with the packages it published', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer' } }], responses: { 200: json('release'), ...errors(404) } } },
      '/repositories': { get: { summary: 'The distribution repositories: name, flavour, architectures, URL (served read-only at <public_url>/dist/NAME/ARCH/)', responses: { 200: json('repositories') } } },
      '/signing-key': {
        get: {
          summary: 'The key the server signs repositories with ([signing]): fingerprint, uid, the armored public key, and where it is served as a file (<public_url>/signing-key.asc, for pacman-key --add and apt\'s signed-by); problem says why it cannot sign now, if it cannot',
          responses: {
            200: json('the signing key', { type: 'object', properties: { fingerprint: { type: 'string' }, uid: { type: 'string' }, url: { type: 'string' }, public_key: { type: 'string' }, problem: { type: ['string', 'null'] } } }),
            ...errors(404),
          },
          },
        },
      '/builders': {
        get: {
          summary: 'The runners that took quarters jobs recently (from Job Hooks and executor reports), what each builds now, and the queue of dispatched builds not started',
          parameters: [{ name: 'hours', in: 'query', required: false, schema: { type: 'number', exclusiveMinimum: 0, maximum: 2160, default: 24 }, description: 'how far back a runner counts as recent' }],
          responses: { 200: json('builders', { $ref: '#/components/schemas/Builders' }), ...errors(400) },
        },
      },
      '/events': {
        get: {
          summary: 'Build state changes as Server-Sent Events: `build` (a build\'s id, namespace, iteration, pkgbase, arch, pass, state, reason, pipeline_url, started_at, finished_at) and `iteration` (a build set got a new iteration); a comment every 15 s',
          parameters: [{ name: 'namespace', in: 'query', required: false, schema: { type: 'string' }, description: 'only this build set\'s events' }],
          responses: { 200: { description: 'the event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } }, ...errors(404) },
        },
      },
      '/builds/{id}': { get: { summary: 'One build: state, pipeline URL, timings, artifacts', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer' } }], responses: { 200: json('build', { $ref: '#/components/schemas/Build' }), ...errors(400, 404) } } },
      '/builds/{id}/log': {
        get: {
          summary: 'A build\'s log: a local build\'s as text; for a GitLab build, 303 to its job (the job that uploaded, else the pipeline)',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer' } }],
          responses: {
            200: { description: 'the log of a local build', content: { 'text/plain': { schema: { type: 'string' } } } },
            303: { description: 'a GitLab build: Location is its job\'s (or pipeline\'s) URL', content: { 'application/json': { schema: { type: 'object', properties: { url: { type: 'string' }, job_id: {}, pipeline_url: { type: 'string' } } } } } },
            ...errors(400, 404),
          },
        },
      },
      '/builds/{id}/artifacts/{filename}': {
        put: {
          summary: 'Upload one built package (executor only)',
          security: [{ executor: [] }],
          parameters: [
            { name: 'id', in: 'path', required: true, schema: { type: 'integer' } },
            { name: 'filename', in: 'path', required: true, schema: { type: 'string' } },
            { name: 'X-Job-Token', in: 'header', required: true, schema: { type: 'string' } },
            { name: 'X-Checksum-Sha256', in: 'header', required: true, schema: { type: 'string', pattern: '^[0-9a-f]{64}$' } },
            { name: RESOURCE_USAGE_HEADER, in: 'header', required: false, schema: { type: 'string', description: 'JSON: ResourceUsage' } },
          ],
          requestBody: { required: true, content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
          responses: { 201: json('stored and indexed (and signed, with [signing])'), ...errors(400, 401, 403, 404, 409, 411, 413, 422), 503: { description: 'signing_failed: the signing key cannot sign; nothing was published', content: { 'application/json': { schema: error } } } },
        },
      },
      '/builds/{id}/resource-usage': {
        put: {
          summary: 'Record what a build used; sent by the executor after every build stage, failed ones included (executor only)',
          security: [{ executor: [] }],
          parameters: [
            { name: 'id', in: 'path', required: true, schema: { type: 'integer' } },
            { name: 'X-Job-Token', in: 'header', required: true, schema: { type: 'string' } },
          ],
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/ResourceUsage' } } } },
          responses: { 204: { description: 'recorded' }, ...errors(400, 401, 403, 404, 409, 413) },
        },
      },
    },
  };
}

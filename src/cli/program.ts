/**
 * The `quarters` command tree, declared once with commander: its help texts, its typed options and the
 * shell completion (completion.ts reads the same tree). Each action imports its module only when it
 * runs, so `quarters --help` or `quarters ns list` does not load the server, the planner or the executor.
 */
import { Argument, Command, Option, type OptionValues } from '@commander-js/extra-typings';
import { CYCLE_REBUILDS } from '../core/build-set/iteration.js';

/** Where an action leaves its exit status (commander's own promise resolves to the command). */
export interface ExitStatus {
  code: number;
  /** The command whose arguments commander refused ("graph rdeps"), for the one-line message. */
  refusedBy?: string;
}

/** Every command of the tree, the root first. */
export function allCommands(root: Command): Command[] {
  return [root, ...(root.commands as Command[]).flatMap((c) => allCommands(c))];
}

/** "ns show" for the command `quarters ns show`. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent as Command | null) names.unshift(c.name());
  return names.join(' ');
}

const SERVER_HELP = 'the quarters server (default: QUARTERS_SERVER, else server in the client config)';
const TOKEN_FILE_HELP = 'a file holding the API token (default: QUARTERS_API_TOKEN, else token/token_file in the client config)';

/** The options every REST command takes, after its own (reads accept --token-file too, as `ns show|list` always did). */
function client<Args extends unknown[], Opts extends OptionValues>(command: Command<Args, Opts>) {
  return command.option('--json', 'print the API\'s answer as JSON').option('--server <url>', SERVER_HELP).option('--token-file <file>', TOKEN_FILE_HELP);
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** The program; `status.code` is the exit status once `parseAsync` has resolved. */
export function createProgram(status: ExitStatus): Command {
  const done = (code: number) => {
    status.code = code;
  };
  const program = new Command('quarters')
    .description('Build service for Linux distribution packages on GitLab: the server, local builds, rebuild graphs, and a client of its REST API.')
    .usage('COMMAND [OPTIONS] [ARGS...]')
    .helpCommand(false)
    .showSuggestionAfterError(true)
    // Errors are thrown, not printed and exited on: main.ts prints them as one line with exit status 2.
    .exitOverride()
    .addHelpText('after', `
Exit status: 0 ok; 1 the command failed or the server refused (one line on stderr: quarters: …);
2 bad usage. \`quarters build\` and \`quarters index sync\` also exit 1 when a build failed or a
recipe could not be read; \`quarters build\` exits 130 when stopped by SIGINT/SIGTERM.
Every command answers --help. Completion: quarters completion bash|zsh.`);

  program
    .command('server')
    .description('run the quarters server until SIGTERM or SIGINT')
    .option('--config <file>', 'the server config (default: QUARTERS_CONFIG)')
    .action(async (flags) => done(await (await import('./server.js')).runServer(flags)));

  program
    .command('index')
    .description('the source index of the GitLab package repositories')
    .helpCommand(false)
    .command('sync')
    .description('read every recipe through the GitLab API into the source index; exit 1 when one could not be read')
    .option('--config <file>', 'the server config (default: QUARTERS_CONFIG)')
    .action(async (flags) => done(await (await import('./index.js')).indexSync(flags)));

  const build = program
    .command('build')
    .usage('BUNDLE_DIR... [OPTIONS]  |  build show|log ID')
    .description('build bundles locally, in dependency order, in clean containers, into a local build set; or show a build of the server')
    .argument('[BUNDLE_DIR...]', 'PKGBUILD directories (with .SRCINFO), AOSC package directories (spec + autobuild/) or Debian source packages (debian/control + debian/changelog)')
    .option('--name <name>', 'the build set (an existing local one gets a new iteration)')
    .option('--branch <branch>', 'the target branch: the executor\'s instance layer')
    .option('--arch <arch>', 'must be the executor\'s arch')
    .option('--jobs <n>', 'builds at once (default: [build] max_in_flight of --config, else 2)')
    .option('--data-dir <dir>', 'the server\'s data_dir (default: data_dir of --config)')
    .option('--config <file>', 'the server config (default: QUARTERS_CONFIG)')
    .option('--executor-config <file>', 'the executor config (default: QUARTERS_EXECUTOR_CONFIG, else /etc/quarters/executor.toml)')
    .option('--packager <who>', '"Name <email>" recorded as PACKAGER (AOSC: MTER, Debian: Changed-By of the .changes) (default: QUARTERS_PACKAGER)')
    .addOption(new Option('--cycle-rebuild <mode>', 'build a dependency cycle\'s members a second time (default: [build] cycle_rebuild, else none)').choices(CYCLE_REBUILDS))
    .helpCommand(false)
    .addHelpText('after', '\nA bundle directory named "show" or "log" is given as ./show or ./log.\nExit status: 0 everything built, 1 a build failed or could not start, 2 bad usage, 130 stopped by a signal.')
    .action(async (dirs, flags) => done(await (await import('./build.js')).runBuild(dirs, flags)));
  client(build.command('show').description('one build of the server: state, pipeline, timings, artifacts').argument('<ID>', 'the build id (the ID column of ns show)'))
    .action(async (id, flags) => done(await (await import('./ns.js')).buildShow(id, flags)));
  client(build.command('log').description('a local build\'s log; for a GitLab build, the URL of its job').argument('<ID>', 'the build id'))
    .action(async (id, flags) => done(await (await import('./ns.js')).buildLog(id, flags)));

  const graph = program.command('graph').description('rebuild graphs from package metadata: reverse dependencies (rdeps) and build-set plans (plan)').helpCommand(false);
  const graphOptions = <Opts extends OptionValues>(command: Command<[string[]], Opts>) =>
    command
      .option('--from <spec>', 'debian:SOURCES[,PACKAGES] | debian:,PACKAGES | srcinfo:PATH | aosc:PATH (files plain or .xz/.gz/.zst; PATH a directory or a tarball)')
      .option('--profile <name>', 'a build profile (repeatable)', collect, [] as string[])
      .option('--json', 'print the result as JSON')
      .option('--keep-going', 'use what parses; print parse problems as warnings');
  graphOptions(graph.command('rdeps').description('every binary that needs the named ones installed, directly or not').argument('[PKG...]', 'binary package names'))
    .option('--arch <arch>', 'the architecture (default: the commonest one of the input)')
    .action(async (names, flags) => done(await (await import('./graph.js')).rdeps(names, flags)));
  graphOptions(graph.command('plan').description('the build set of a change: waves, cycles, critical path').argument('[PKGBASE...]', 'the origin source packages'))
    .option('--arch <arch>', 'the architecture (required)')
    .option('--all-alternatives', 'follow every alternative of a dependency, not only the first')
    .action(async (names, flags) => done(await (await import('./graph.js')).plan(names, flags)));

  const image = program.command('image').description('disk images assembled from a build set\'s packages').helpCommand(false);
  image
    .command('build')
    .description('build a disk image (raw or qcow2) from a description; partitions are cached by what went into them')
    .argument('<IMAGE.toml>', 'the image description')
    .option('--from <source>', 'the build set whose packages to install: NAMESPACE[/ITERATION] (local with --data-dir/--config, else from the server), or a repository directory')
    .option('--out <file>', 'the image file, or a directory ending in / to write LABEL.raw or LABEL.qcow2 into (default: the current directory)')
    .addOption(new Option('--cache <mode>', 'the caching mode of every partition, overriding the description\'s').choices(['aggressive', 'normal', 'transient'] as const))
    .option('--cache-dir <dir>', 'the partition cache (default: QUARTERS_IMAGE_CACHE, else /var/cache/quarters/images as root, ~/.cache/quarters/images otherwise)')
    .option('--data-dir <dir>', 'the data_dir of local build sets (quarters build) to take --from from')
    .option('--config <file>', 'the server config whose data_dir to take --from from (default: QUARTERS_CONFIG)')
    .option('--server <url>', SERVER_HELP)
    .option('--executor-config <file>', 'the executor config whose clean environment installs packages (default: QUARTERS_EXECUTOR_CONFIG, else /etc/quarters/executor.toml)')
    .option('--branch <branch>', 'the target branch: the executor\'s instance layer')
    .option('--arch <arch>', 'the architecture (default: the executor\'s, else this machine\'s)')
    .addHelpText('after', '\nExit status: 0 the image was written, 1 it could not be (one line on stderr), 2 bad usage.')
    .action(async (file, flags) => done(await (await import('./image/build.js')).runImageBuild(file, flags)));

  const ns = program
    .command('ns')
    .description('build sets (namespaces) on the server, through its REST API')
    .helpCommand(false)
    .addHelpText('after', `
The server: --server URL, else QUARTERS_SERVER, else server = "URL" in $XDG_CONFIG_HOME/quarters/client.toml
(~/.config/quarters/client.toml). The API token (for new, cancel, resume, retry, release, bump): --token-file FILE, else
QUARTERS_API_TOKEN, else token or token_file in that file; never a plain option.
Exit status: 0 ok, 1 the server refused or could not be reached, 2 bad usage; ns watch waits until the
build set settles and exits 0 when every build is built, 1 otherwise.`);
  client(
    ns.command('new').alias('create').description('create a build set from origin changesets; the server plans and dispatches it').argument('[PKGBASE@REF...]', 'the origin changesets')
      .option('--name <name>', 'the build set\'s name (default: the server chooses)')
      .option('--packager <who>', '"Name <email>" the builds are for (QUARTERS_PACKAGER in the pipelines)'),
  ).action(async (origins, flags) => done(await (await import('./ns.js')).nsNew(origins, flags)));
  client(ns.command('list').description('every build set: status, latest iteration, builds per state'))
    .action(async (flags) => done(await (await import('./ns.js')).nsList(flags)));
  client(
    ns.command('show').description('a build set\'s latest iteration and its builds').argument('<NAME>', 'the build set')
      .option('--arch <arch>', 'only the builds for this architecture')
      .option('--state <state>', 'only the builds in this state (built, failed, building, …)'),
  ).action(async (name, flags) => done(await (await import('./ns.js')).nsShow(name, flags)));
  client(
    ns.command('graph').description('what each build of the latest iteration needs, as a tree (or DOT)').argument('<NAME>', 'the build set')
      .option('--dot', 'print Graphviz DOT (quarters ns graph NAME --dot | dot -Tsvg)'),
  ).action(async (name, flags) => done(await (await import('./ns.js')).nsGraph(name, flags)));
  client(
    ns.command('watch').description('print a line per build state change until the build set settles; exit 0 when all are built, 1 otherwise').argument('<NAME>', 'the build set')
      .option('--interval <seconds>', 'how often to ask the server (default: 5)'),
  ).action(async (name, flags) => done(await (await import('./ns.js')).nsWatch(name, flags)));
  const controls = { cancel: 'cancel the unfinished builds and their pipelines', resume: 'resume cancelled builds', retry: 'retry failed builds (GitLab pipeline retry when there is a pipeline)' } as const;
  for (const [action, what] of Object.entries(controls) as [keyof typeof controls, string][]) {
    client(ns.command(action).description(`${what}: all of the build set's, or the named pkgbases'`).argument('<NAME>', 'the build set').argument('[PKGBASE...]', 'only these packages\' builds'))
      .action(async (name, pkgbases, flags) => done(await (await import('./ns.js')).nsControl(action, name, pkgbases, flags)));
  }

  client(ns.command('install').description('how to use the build set\'s repository: a pacman.conf section or sources.list lines (with the signing key\'s import when it is signed)').argument('<NAME>', 'the build set'))
    .action(async (name, flags) => done(await (await import('./ns.js')).nsInstall(name, flags)));
  client(
    ns.command('release').description('promote the build set\'s packages into a distribution repository ([repositories.NAME]); print what changes').argument('<NAME>', 'the build set')
      .requiredOption('--to <repository>', 'the distribution repository')
      .option('--partial <pkgbase...>', 'leave these pkgbases out (their builds need not be built)')
      .option('--dry-run', 'print what would change (added, upgraded, downgraded, removed); change nothing')
      .option('--force', 'release even when a version would go backwards'),
  ).action(async (name, flags) => done(await (await import('./ns.js')).nsRelease(name, flags)));
  client(
    ns.command('releases').description('the releases into the distribution repositories, newest first: who released what, when').argument('[NAME]', 'only this build set\'s')
      .option('--to <repository>', 'only those into this repository'),
  ).action(async (name, flags) => done(await (await import('./ns.js')).nsReleases(name, flags)));
  client(
    ns.command('bump').description('mass rebuild with version bumps: open one merge request per repository bumping the release of the packages the build set rebuilds (not its origins); the next iteration builds them from those branches. Run again to resume')
      .argument('<NAME>', 'the build set')
      .requiredOption('--reason <text>', 'why they are rebuilt (the changelog entry, commit and merge request say it)')
      .option('--maintainer <who>', '"Name <email>" for Debian changelog entries and the commits (default: the build set\'s packager)')
      .option('--no-wait', 'answer at once instead of printing progress until every repository is done')
      .option('--interval <seconds>', 'how often to ask the server for progress (default: 1)'),
  ).action(async (name, flags) => done(await (await import('./ns.js')).nsBump(name, flags)));
  client(
    program.command('gc').description('apply the server\'s retention policy ([retention]) now: superseded and retired build sets\' iterations expire, with their repositories, package files and logs; print what went')
      .option('--dry-run', 'print what would go (iterations, files with sizes, total bytes); remove nothing'),
  ).action(async (flags) => done(await (await import('./gc.js')).gc(flags)));
  client(program.command('builders').description('the runners that took quarters jobs recently, what each builds now, and the queue of dispatched builds not started'))
    .option('--hours <n>', 'how far back a runner counts as recent (default: 24)')
    .action(async (flags) => done(await (await import('./builders.js')).builders(flags)));

  program
    .command('completion')
    .description('print the shell completion script: eval "$(quarters completion bash)" in ~/.bashrc, or the zsh one in ~/.zshrc')
    .addArgument(new Argument('<shell>', 'bash or zsh').choices(['bash', 'zsh'] as const))
    .action(async (shell) => {
      const { completionScript } = await import('./completion.js');
      process.stdout.write(completionScript(program, shell));
      done(0);
    });

  for (const command of allCommands(program)) {
    command.configureOutput({ outputError: () => (status.refusedBy = commandPath(command)) });
  }
  return program;
}

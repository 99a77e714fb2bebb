/// The help texts: `sitewarden --help` and, per command, `sitewarden help COMMAND` or
/// `sitewarden COMMAND --help`. The README quotes them; a test keeps it in step.
public enum CommandHelp {
    public static let overview = """
        usage: sitewarden [--config PATH] COMMAND [OPTIONS] [TARGET...]

        commands:
          run                  run as a daemon (under systemd: Type=notify)
          check [--full] [--json]
                               verify files and probe routes once; print a report
          baseline [--adopt]   record the installed files as the known-good backup
          restore [--dry-run]  restore drifted files from the backup, restart the unit
          status [--json]      show what the running daemon last saw
          check-config         validate the configuration and its drop-ins; change nothing
          help [COMMAND]       show this help, or a command's

        options:
          -c, --config PATH    configuration file (default /etc/sitewarden/config.toml);
                               drop-ins are read from conf.d/*.toml beside it
          -h, --help           show help (after a command: that command's)
          -V, --version        show the version

        exit codes: 0 healthy, 1 drift, 2 probe failure, 3 cannot verify, 4 version changed, 64 usage,
        78 configuration
        """

    /// The help of one command.
    public static func text(for command: Arguments.Command) -> String {
        switch command {
        case .run: run
        case .check: check
        case .baseline: baseline
        case .restore: restore
        case .status: status
        case .checkConfig: checkConfig
        case .help: overview
        }
    }

    static let run = """
        usage: sitewarden [--config PATH] run

        Runs as a daemon: verifies every target each interval and after changes, probes its routes,
        restores drift, restarts the unit, and reports with sd_notify and the journal. Meant for
        ExecStart= of a Type=notify unit (deploy/sitewarden.service).

        exit codes: 0 stopped by SIGTERM/SIGINT, 78 the configuration does not load
        """

    static let check = """
        usage: sitewarden [--config PATH] check [--full] [--json] [TARGET...]

        Verifies each target's files against RECORD and the baseline and probes its routes, once.
        Changes nothing (it only refreshes the scan cache). On a terminal a progress line is shown
        on stderr while it runs.

        options:
          --full               hash every file, trusting no cached digest
          --json               print one JSON document (docs/JSON.md, docs/check.schema.json)

        exit codes (the worst target wins): 0 healthy, 1 drift, 2 probe failure, 3 cannot verify,
        4 version changed, 64 usage, 78 configuration
        """

    static let baseline = """
        usage: sitewarden [--config PATH] baseline [--adopt] [TARGET...]

        Records the installed files of each target as its known-good baseline and backup copy, in
        the target's backup directory. Refuses files that do not match RECORD.

        options:
          --adopt              record the installed version even when another is configured

        exit codes: 0 recorded, 3 not recorded (damaged install, wrong version, I/O error),
        64 usage, 78 configuration
        """

    static let restore = """
        usage: sitewarden [--config PATH] restore [--dry-run] [TARGET...]

        Verifies each target, restores drifted files from the verified backup, restarts the unit
        and confirms the routes answer. Journals each step like the daemon does.

        options:
          -n, --dry-run        list what would be restored after checking the backup; change nothing

        exit codes: 0 nothing to restore or restored and healthy, 1 drift left (or would be
        restored, with --dry-run), 3 cannot verify or restore, 4 version changed, 64 usage,
        78 configuration
        """

    static let status = """
        usage: sitewarden [--config PATH] status [--json] [TARGET...]

        Shows what the running daemon last saw, from status.json in its state directory: each
        target's state (healthy, drifted, restoring, degraded, flapping, observe-only, …), the
        last verification's time and duration, files checked, the last drift and restore, and
        each route's result. Works as any user who may read the state directory.

        options:
          --json               print one JSON document (docs/JSON.md, docs/status.schema.json)

        exit codes: as check, from what the daemon saw; 3 also when no daemon reports (no
        status file, the daemon is not running, or it has not written for three intervals)
        """

    static let checkConfig = """
        usage: sitewarden [--config PATH] check-config

        Validates the configuration file and its drop-ins (conf.d/*.toml beside it) without
        touching anything: every problem, in every file, with its line and column. Also checks
        that each venv exists and that the metrics file's directory does. Run by ExecStartPre=.

        exit codes: 0 valid, 64 usage, 78 configuration problems (listed on stderr)
        """
}

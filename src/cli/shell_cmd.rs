//! `rampart shell`: an interactive prompt running SQL as a context, with
//! line editing and history (`rustyline`) and meta-commands to look at what
//! the engine does. Reads standard input line by line when it is not a
//! terminal, so it can be scripted.

use clap::Args;
use rampart::sql::schema::create_tables;
use rampart::{Command, Context, Engine, Session};
use rustyline::error::ReadlineError;
use rustyline::DefaultEditor;

use super::engine_args::{context, engine, report, ContextArgs, PolicyArgs};
use super::{explain_cmd, output, table, EXIT_OK, EXIT_USAGE};

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  rampart shell -p policies/saas -c '{\"tenant\": {\"id\": \"acme\", \"plan\": \"pro\"}, \"request\": {\"user\": \"ann\", \"roles\": [\"admin\"]}}'\n\nStatements end with `;`. Meta-commands: \\context [JSON], \\explain TABLE COMMAND,\n\\rewrite SQL, \\help, \\q. History is kept in ~/.rampart_history."
)]
pub struct ShellArgs {
    #[command(flatten)]
    policy: PolicyArgs,
    #[command(flatten)]
    context: ContextArgs,
    /// `sqlite::memory:` (the default; the declared tables are created),
    /// `sqlite:FILE` or `postgres://…`
    #[arg(long, value_name = "URL", default_value = "sqlite::memory:")]
    db: String,
}

const HELP: &str = "\
SQL ending with `;` runs as the current context.
  \\context            show the context
  \\context JSON       run as another context from now on (same database)
  \\explain T COMMAND  the combined predicate for table T and select|insert|update|delete
  \\rewrite SQL        show SQL as rewritten, without running it
  \\help               this text
  \\q                  quit
";

struct Shell {
    engine: Engine,
    session: Session,
}

pub fn run(args: &ShellArgs) -> u8 {
    let engine = match engine(&args.policy) {
        Ok(e) => e,
        Err(code) => return code,
    };
    let ctx = match context(&args.context) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let mut backend = match rampart::exec::open(&args.db) {
        Ok(b) => b,
        Err(e) => return report(e),
    };
    if args.db == "sqlite::memory:" {
        if let Err(e) = backend.batch(&create_tables(engine.policy_set(), backend.dialect())) {
            return report(e.into());
        }
    }
    if let Err(e) = engine.verify_schema(backend.as_mut()) {
        return report(e);
    }
    let session = match engine.connect(ctx, backend) {
        Ok(s) => s,
        Err(e) => return report(e),
    };
    let mut editor = match DefaultEditor::new() {
        Ok(e) => e,
        Err(e) => {
            output::stderr(&format!("error: cannot start the line editor: {e}\n"));
            return EXIT_USAGE;
        }
    };
    let history =
        std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".rampart_history"));
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    let mut shell = Shell { engine, session };
    output::stdout("rampart shell: SQL ending with `;`, \\help for commands, \\q to quit.\n");
    let mut pending = String::new();
    loop {
        let prompt = if pending.is_empty() {
            "rampart> "
        } else {
            "rampart-> "
        };
        let line = match editor.readline(prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                pending.clear();
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                output::stderr(&format!("error: reading input: {e}\n"));
                return EXIT_USAGE;
            }
        };
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        let _ = editor.add_history_entry(trimmed);
        if pending.is_empty() && trimmed.starts_with('\\') {
            if !shell.meta(trimmed) {
                break;
            }
            continue;
        }
        pending.push_str(&line);
        pending.push('\n');
        if trimmed.ends_with(';') {
            let sql = std::mem::take(&mut pending);
            shell.sql(&sql);
        }
    }
    if let Some(path) = &history {
        let _ = editor.save_history(path);
    }
    EXIT_OK
}

impl Shell {
    fn sql(&mut self, sql: &str) {
        let (results, error) = self.session.execute_each(sql);
        for result in &results {
            output::stdout(&table::render(result));
        }
        if let Some(e) = error {
            output::stdout(&format!("error[{}]: {e}\n", e.sqlstate()));
        }
    }

    /// Runs a meta-command; `false` to quit.
    fn meta(&mut self, line: &str) -> bool {
        let (command, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let rest = rest.trim();
        match command {
            "\\q" | "\\quit" => return false,
            "\\help" | "\\?" => output::stdout(HELP),
            "\\context" if rest.is_empty() => {
                output::stdout(&format!("{}\n", self.session.context().as_json()));
            }
            "\\context" => {
                if let Err(e) = self.switch(rest) {
                    output::stdout(&format!("error[{}]: {e}\n", e.sqlstate()));
                }
            }
            "\\explain" => self.explain(rest),
            "\\rewrite" => match self.session.rewritten(rest) {
                Ok(r) => output::stdout(&format!("{}\n", r.sql)),
                Err(e) => output::stdout(&format!("error[{}]: {e}\n", e.sqlstate())),
            },
            other => output::stdout(&format!("unknown command `{other}`: \\help lists them\n")),
        }
        true
    }

    /// Runs as another context on the same database connection.
    fn switch(&mut self, json: &str) -> Result<(), rampart::Error> {
        self.session.switch_context(Context::from_json(json)?)?;
        output::stdout("context switched\n");
        Ok(())
    }

    fn explain(&self, args: &str) {
        let words: Vec<&str> = args.split_whitespace().collect();
        let [table_name, command] = words.as_slice() else {
            output::stdout("usage: \\explain TABLE select|insert|update|delete\n");
            return;
        };
        let Some(command) = Command::from_name(command) else {
            output::stdout(&format!("unknown command `{command}`\n"));
            return;
        };
        match self
            .engine
            .explain(self.session.context(), table_name, command)
        {
            Ok(x) => output::stdout(&explain_cmd::render(&x)),
            Err(e) => output::stdout(&format!("error[{}]: {e}\n", e.sqlstate())),
        }
    }
}

//! `hakeeper __generate DIR` (run by packaging/build): the man pages hakeeper(8), from the CLI
//! definition, and hakeeper.ron(5), from docs/hakeeper.ron.5.md, plus the shell completions.
//! It is not a clap verb, so that completions and `--help` never offer it.
//!
//! hakeeper(8) is assembled from clap_mangen's sections with a COMMANDS section of its own:
//! clap_mangen's SUBCOMMANDS section points at hakeeper-check(8) and the like, pages that do not
//! exist.

use crate::cli::Cli;
use crate::roff::{self, Title};
use clap::CommandFactory;
use clap_complete::Shell;
use hakeeper_common::markdown;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The configuration reference, compiled in so that the binary that packages it carries it.
const CONFIG_REFERENCE: &str = include_str!("../../docs/hakeeper.ron.5.md");

const VERB: &str = "__generate";

/// `Some(DIR)` when the command line is `hakeeper __generate DIR`.
pub fn invoked() -> Option<PathBuf> {
    let mut args = std::env::args_os().skip(1);
    match (args.next(), args.next(), args.next()) {
        (Some(verb), Some(dir), None) if verb == VERB => Some(PathBuf::from(dir)),
        _ => None,
    }
}

pub fn main(dir: &Path) -> ExitCode {
    match generate(dir) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hakeeper {VERB}: {e}");
            ExitCode::from(1)
        }
    }
}

fn generate(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("hakeeper.8"), command_page()?)?;
    std::fs::write(dir.join("hakeeper.ron.5"), config_page().map_err(std::io::Error::other)?)?;
    let cmd = Cli::command();
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let mut cmd = cmd.clone();
        clap_complete::generate_to(shell, &mut cmd, "hakeeper", dir)?;
    }
    Ok(())
}

fn source() -> String {
    format!("hakeeper {}", env!("CARGO_PKG_VERSION"))
}

/// hakeeper.ron(5).
pub fn config_page() -> Result<String, markdown::ParseError> {
    let blocks = markdown::parse(CONFIG_REFERENCE)?;
    let title = Title { name: "hakeeper.ron", section: "5", source: &source(), manual: "File Formats Manual" };
    Ok(roff::render(&title, &blocks))
}

/// hakeeper(8).
pub fn command_page() -> std::io::Result<String> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let man = clap_mangen::Man::new(cmd.clone()).section("8").manual("System Manager's Manual");
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    man.render_options_section(&mut page)?;
    let mut page = String::from_utf8(page).map_err(std::io::Error::other)?;
    let rest = markdown::parse(&commands_markdown(&cmd)).map_err(std::io::Error::other)?;
    page.push_str(&roff::render_blocks(&rest));
    Ok(page)
}

/// COMMANDS (each verb's usage, description and options), FILES and SEE ALSO, as Markdown.
fn commands_markdown(cmd: &clap::Command) -> String {
    let mut md = String::from("# COMMANDS\n\n");
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let usage = sub.clone().render_usage().to_string();
        let usage = usage.trim_start_matches("Usage:").trim();
        md.push_str(&format!(
            "## {}\n\n",
            usage.replacen(&format!("hakeeper {}", sub.get_name()), &format!("`hakeeper {}`", sub.get_name()), 1)
        ));
        if let Some(about) = sub.get_long_about().or(sub.get_about()) {
            md.push_str(&format!("{}\n\n", one_line(&about.to_string())));
        }
        for arg in sub.get_arguments().filter(|a| !a.is_hide_set() && a.get_id() != "help") {
            md.push_str(&format!("`{}`\n", arg_name(arg)));
            let mut help = arg.get_long_help().or(arg.get_help()).map(|h| one_line(&h.to_string())).unwrap_or_default();
            if !help.is_empty() && !help.ends_with('.') {
                help.push('.');
            }
            // A flag's default (false) says nothing.
            let takes_value = arg.get_num_args().is_some_and(|n| n.takes_values());
            let default: Vec<String> = arg.get_default_values().iter().map(|v| v.to_string_lossy().into_owned()).collect();
            if takes_value && !default.is_empty() {
                help.push_str(&format!(" Default: `{}`.", default.join(" ")));
            }
            md.push_str(&format!(": {}\n\n", help.trim()));
        }
    }
    md.push_str(
        "# FILES\n\n`/etc/hakeeper/hakeeper.ron`\n: The configuration, described in hakeeper.ron(5).\n\n\
         # SEE ALSO\n\nhakeeper.ron(5), haproxy(1), keepalived(8), keepalived.conf(5)\n",
    );
    md
}

/// `-c, --config <CONFIG>` or `<COMMAND>...`.
fn arg_name(arg: &clap::Arg) -> String {
    let value = arg.get_value_names().map(|v| v.iter().map(|n| format!("<{n}>")).collect::<Vec<_>>().join(" "));
    let takes_value = arg.get_num_args().is_some_and(|n| n.takes_values());
    let value = value.filter(|_| takes_value).unwrap_or_else(|| {
        if takes_value {
            format!("<{}>", arg.get_id().as_str().to_uppercase())
        } else {
            String::new()
        }
    });
    let mut flags = Vec::new();
    if let Some(s) = arg.get_short() {
        flags.push(format!("-{s}"));
    }
    if let Some(l) = arg.get_long() {
        flags.push(format!("--{l}"));
    }
    let many = if arg.get_num_args().is_some_and(|n| n.max_values() > 1) { "..." } else { "" };
    match (flags.is_empty(), value.is_empty()) {
        (true, _) => format!("{value}{many}"),
        (false, true) => flags.join(", "),
        (false, false) => format!("{} {value}{many}", flags.join(", ")),
    }
}

/// clap keeps the line breaks of doc comments in long help; the page reflows them itself.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_reference_parses_as_the_subset() {
        let page = config_page().unwrap_or_else(|e| panic!("docs/hakeeper.ron.5.md {e}"));
        assert!(page.starts_with(".TH \"HAKEEPER.RON\" \"5\""), "{page}");
        for section in [".SH NAME", ".SH SYNOPSIS", ".SH DESCRIPTION", ".SH SECTIONS", ".SH SEE ALSO"] {
            assert!(page.contains(&format!("{section}\n")), "hakeeper.ron.5 lacks {section}");
        }
    }

    #[test]
    fn hakeeper_8_refers_only_to_pages_that_exist() {
        let page = command_page().expect("render");
        for verb in ["check", "run", "import", "demo", "ctl"] {
            assert!(page.contains(&format!(".SS \\fBhakeeper {verb}\\fR")), "no section for {verb}:\n{page}");
            assert!(!page.contains(&format!("hakeeper\\-{verb}(8)")), "refers to hakeeper-{verb}(8):\n{page}");
        }
        assert!(!page.contains("__generate") && !page.contains("\\fBhakeeper help"), "{page}");
        // Every NAME(N) reference names a page that is shipped or comes with HAProxy/keepalived.
        let known = ["hakeeper.ron(5)", "haproxy(1)", "keepalived(8)", "keepalived.conf(5)"];
        let refs: Vec<&str> = page.split(|c: char| c.is_whitespace() || c == ',').filter(|w| w.ends_with(')') && w.contains('(')).collect();
        let unknown: Vec<&&str> =
            refs.iter().filter(|r| r.chars().next().is_some_and(|c| c.is_ascii_lowercase()) && !known.contains(r)).collect();
        assert!(unknown.is_empty(), "unknown page references {unknown:?}");
        assert!(refs.contains(&"hakeeper.ron(5)"));
        assert!(page.contains("\\fB\\-c\\fR") || page.contains("\\fB\\-c, \\-\\-config"), "options of check:\n{page}");
    }

    /// groff (through man-db) reads both pages without a warning; skipped where `man` is missing
    /// (tests/packaging.rs checks the installed pages under CI).
    #[test]
    fn man_renders_both_pages_without_warnings() {
        let Ok(probe) = std::process::Command::new("man").arg("--version").output() else {
            eprintln!("skipping: no man");
            return;
        };
        assert!(probe.status.success());
        let dir = std::env::temp_dir().join(format!("hakeeper-generate-{}", std::process::id()));
        generate(&dir).expect("generate");
        for (page, expect) in [("hakeeper.8", "COMMANDS"), ("hakeeper.ron.5", "pool_purge_delay")] {
            let out = std::process::Command::new("man")
                .args(["--warnings", "-P", "cat", "-l"])
                .arg(dir.join(page))
                .env("MANWIDTH", "80")
                .env("LC_ALL", "C.UTF-8")
                .output()
                .expect("run man");
            let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            assert!(out.status.success() && stderr.trim().is_empty(), "man -l {page}:\n{stderr}");
            assert!(stdout.contains(expect), "man -l {page} lacks {expect}:\n{stdout}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn completions_offer_ctl_keywords_and_no_internal_verb() {
        let dir = std::env::temp_dir().join(format!("hakeeper-completions-{}", std::process::id()));
        generate(&dir).expect("generate");
        for file in ["hakeeper.bash", "_hakeeper", "hakeeper.fish"] {
            let text = std::fs::read_to_string(dir.join(file)).expect("read completion");
            assert!(!text.contains(VERB), "{file} offers {VERB}");
            for keyword in ["servers", "switchover", "maint"] {
                assert!(text.contains(keyword), "{file} does not offer the ctl keyword {keyword}");
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

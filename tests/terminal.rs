//! What a person sees at a terminal, in a real one (tmux): the progress bar for hashing and
//! validation with no per-file line above it and none left behind; without a terminal the
//! per-file lines stay.

use crate::support::{bcf_bin, families, reference};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// A tmux server of its own (`-L`), so nothing of the user's or another test's is touched.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn new() -> Tmux {
        Tmux { socket: format!("bcf-test-{}", std::process::id()) }
    }

    fn cmd(&self, args: &[&str]) -> String {
        let o = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs (make tmux installs it)");
        assert!(o.status.success(), "tmux {args:?}: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux").arg("-L").arg(&self.socket).arg("kill-server").output();
    }
}

/// Runs `bcf run` in a 160 × 50 tmux window; (every byte it drew, the window's text after).
fn run_in_tmux(input: &Path, out: &Path, work: &Path) -> (String, String) {
    let tmux = Tmux::new();
    let (go, raw) = (work.join("go"), work.join("raw"));
    // The command waits for `go`, so the recording starts before its first byte.
    let script = format!(
        "while [ ! -e '{}' ]; do sleep 0.05; done; env -u BCF_LOG '{}' run --input '{}' --out '{}'; echo BCF-EXIT=$?; sleep 600",
        go.display(),
        bcf_bin().display(),
        input.display(),
        out.display()
    );
    tmux.cmd(&["new-session", "-d", "-s", "t", "-x", "160", "-y", "50", &script]);
    tmux.cmd(&["pipe-pane", "-t", "t", "-o", &format!("cat >> '{}'", raw.display())]);
    std::fs::write(&go, "").unwrap();
    let started = Instant::now();
    let screen = loop {
        let screen = tmux.cmd(&["capture-pane", "-t", "t", "-p", "-S", "-"]);
        if screen.lines().any(|l| l.starts_with("BCF-EXIT=")) {
            break screen;
        }
        assert!(started.elapsed() < Duration::from_secs(300), "bcf finished in tmux:\n{screen}");
        std::thread::sleep(Duration::from_millis(200));
    };
    std::thread::sleep(Duration::from_millis(300)); // pipe-pane's last bytes
    (String::from_utf8_lossy(&std::fs::read(&raw).unwrap_or_default()).into_owned(), screen)
}

#[test]
fn on_a_terminal_the_bar_shows_progress_with_no_per_file_line_above_it_and_none_left_behind() {
    let input = tempfile::tempdir().unwrap();
    let (schemas, areas) = reference();
    let two: Vec<_> = families().into_iter().rev().take(2).collect();
    bcf_fixtures::national_corpus(input.path(), 3, schemas, areas, &two).unwrap();
    let (out, work) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (drawn, screen) = run_in_tmux(input.path(), out.path(), work.path());

    assert!(screen.lines().any(|l| l == "BCF-EXIT=0"), "{screen}");
    assert!(screen.contains("published: snapshot 000001"), "the summary is shown:\n{screen}");
    let bar = |text: &str, verb: &str| {
        text.match_indices(verb)
            .any(|(i, _)| text[i + verb.len()..].trim_start().starts_with(|c: char| c.is_ascii_digit()))
    };
    assert!(
        bar(&drawn, "hashing") && bar(&drawn, "validating"),
        "the bar was drawn for hashing and validation:\n{drawn}"
    );
    assert!(!drawn.contains("validated"), "no per-file line was printed:\n{drawn}");
    assert!(!bar(&screen, "validating") && !bar(&screen, "hashing"), "no bar line is left behind:\n{screen}");
    assert!(screen.contains("stage done stage=\"validate\""), "the other log lines are shown:\n{screen}");

    // Without a terminal, the logs are as they were: one line per file validated.
    let again = tempfile::tempdir().unwrap();
    let o = Command::new(bcf_bin())
        .args(["run", "--input", input.path().to_str().unwrap(), "--out", again.path().to_str().unwrap()])
        .env_remove("BCF_LOG")
        .output()
        .unwrap();
    let logs = String::from_utf8_lossy(&o.stderr);
    let files = crate::support::fs::files(input.path()).len();
    assert_eq!(logs.matches(" validated").count(), files, "{logs}");
    assert!(!bar(&logs, "validating"), "no bar without a terminal");
}

//! Draws probe progress and the greylisting countdown on stderr (indicatif), only on a terminal.

use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use mxdoctor_checks::progress::Progress;

/// A spinner line for running probes and a bar per deliberate wait.
pub struct TerminalProgress {
    bars: MultiProgress,
    running: ProgressBar,
    active: Mutex<Vec<String>>,
}

impl TerminalProgress {
    pub fn new() -> Self {
        let bars = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let running = bars.add(ProgressBar::new_spinner());
        running.set_style(
            ProgressStyle::with_template("{spinner} {elapsed} {msg}").expect("static template"),
        );
        running.enable_steady_tick(Duration::from_millis(120));
        Self {
            bars,
            running,
            active: Mutex::new(Vec::new()),
        }
    }

    fn show(&self) {
        let active = self.active.lock().map(|a| a.clone()).unwrap_or_default();
        let message = match active.len() {
            0 => String::new(),
            1 => active[0].clone(),
            n => format!("{} (+{} more)", active[0], n - 1),
        };
        self.running.set_message(message);
    }

    pub fn finish(&self) {
        self.running.finish_and_clear();
        let _ = self.bars.clear();
    }
}

impl Default for TerminalProgress {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress for TerminalProgress {
    fn started(&self, what: &str) {
        if let Ok(mut active) = self.active.lock() {
            active.push(what.to_string());
        }
        self.show();
    }

    fn finished(&self, what: &str) {
        if let Ok(mut active) = self.active.lock() {
            if let Some(index) = active.iter().position(|a| a == what) {
                active.remove(index);
            }
        }
        self.show();
    }

    fn waiting(&self, what: &str, total: Duration) {
        let seconds = total.as_secs().max(1);
        let bar = self.bars.add(ProgressBar::new(seconds));
        bar.set_style(
            ProgressStyle::with_template("  waiting {pos}/{len}s before retrying: {msg}")
                .expect("static template"),
        );
        bar.set_message(what.to_string());
        std::thread::spawn(move || {
            for _ in 0..seconds {
                std::thread::sleep(Duration::from_secs(1));
                bar.inc(1);
            }
            bar.finish_and_clear();
        });
    }
}

/// Inputs smaller than this are read too fast for a progress bar to be worth drawing.
pub const BYTE_BAR_MIN_BYTES: u64 = 64 * 1024 * 1024;

/// A bar over `total` bytes (position, rate, ETA) on stderr when it is a terminal and `total` is at
/// least [`BYTE_BAR_MIN_BYTES`]; otherwise a hidden bar that draws nothing.
pub fn byte_bar(total: u64, enabled: bool) -> ProgressBar {
    use std::io::IsTerminal as _;
    if !enabled || total < BYTE_BAR_MIN_BYTES || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {wide_msg}",
        )
        .expect("static template"),
    );
    bar
}

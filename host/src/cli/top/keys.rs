//! What a key does in `top`, as a pure state machine: the view's state ([`Ui`]) and the
//! command a key asks the loop to run. Tested without a terminal.

use ratatui::crossterm::event::KeyCode;

use super::model::Frame;

/// An action on a worker, enabled by `top --act`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    Interrupt,
    Stop,
}

impl Act {
    pub fn verb(self) -> &'static str {
        match self {
            Act::Interrupt => "interrupt",
            Act::Stop => "stop",
        }
    }
}

/// What the view shows over the table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Overlay {
    #[default]
    None,
    /// The agent's redacted tail (or why there is none).
    Tail {
        agent: String,
        text: String,
    },
    /// The watchdog's dry-run verdict.
    Verdict {
        agent: String,
        text: String,
    },
    Help,
}

/// What the loop runs for a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Nothing,
    Quit,
    /// Observe again now (a closed overlay, a cancelled confirmation).
    Refresh,
    Tail(String),
    Verdict(String),
    Do(Act, String),
}

/// The view's state between frames.
#[derive(Debug, Default)]
pub struct Ui {
    pub selected: usize,
    pub overlay: Overlay,
    /// An action waiting for `y`.
    pub confirm: Option<(Act, String)>,
    /// The outcome of the last action, or why a key did nothing.
    pub message: Option<String>,
    pub act: bool,
}

pub const HELP: &str = "j / k, Down / Up   select an agent
Enter              its redacted tail
w                  the watchdog's dry-run verdict (default policy)
i / x              interrupt / stop it (only with top --act; asks first)
?                  this help
Esc / Enter        close a view like this one
q / Esc / Ctrl-C   quit";

impl Ui {
    pub fn new(act: bool) -> Ui {
        Ui { act, ..Ui::default() }
    }

    /// Keeps the selection on a row after the fleet changed.
    pub fn clamp(&mut self, frame: &Frame) {
        self.selected = self.selected.min(frame.rows.len().saturating_sub(1));
    }

    fn selected_agent(&self, frame: &Frame) -> Option<String> {
        frame.rows.get(self.selected).map(|r| r.agent.clone())
    }

    pub fn on_key(&mut self, key: KeyCode, frame: &Frame) -> Command {
        if let Some((act, agent)) = self.confirm.take() {
            if key == KeyCode::Char('y') {
                return Command::Do(act, agent);
            }
            self.message = Some(format!("{agent}: {} cancelled", act.verb()));
            return Command::Nothing;
        }
        if self.overlay != Overlay::None {
            return match key {
                KeyCode::Char('q') => Command::Quit,
                KeyCode::Esc | KeyCode::Enter | KeyCode::Char('?') => {
                    self.overlay = Overlay::None;
                    Command::Refresh
                }
                _ => Command::Nothing,
            };
        }
        self.message = None;
        match key {
            KeyCode::Char('q') | KeyCode::Esc => Command::Quit,
            KeyCode::Down | KeyCode::Char('j') => {
                self.selected = (self.selected + 1).min(frame.rows.len().saturating_sub(1));
                Command::Nothing
            }
            KeyCode::Up | KeyCode::Char('k') => {
                self.selected = self.selected.saturating_sub(1);
                Command::Nothing
            }
            KeyCode::Char('?') => {
                self.overlay = Overlay::Help;
                Command::Nothing
            }
            KeyCode::Enter => self.selected_agent(frame).map_or(Command::Nothing, Command::Tail),
            KeyCode::Char('w') => self.selected_agent(frame).map_or(Command::Nothing, Command::Verdict),
            KeyCode::Char(c @ ('i' | 'x')) => {
                let act = if c == 'i' { Act::Interrupt } else { Act::Stop };
                self.ask(act, frame);
                Command::Nothing
            }
            _ => Command::Nothing,
        }
    }

    /// Asks to confirm an action, or says why it is not offered.
    fn ask(&mut self, act: Act, frame: &Frame) {
        let Some(agent) = self.selected_agent(frame) else { return };
        if !self.act {
            self.message = Some("read-only: start `top --act` to interrupt or stop a worker".to_owned());
            return;
        }
        self.message = Some(format!("{} {agent}? y confirms, any other key cancels", act.verb()));
        self.confirm = Some((act, agent));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::top::model::{row, Who};

    fn frame(names: &[&str]) -> Frame {
        let rows = names
            .iter()
            .map(|a| row(&Who { agent: a, profile: "scripted", host: None }, Err("tmux_failed"), None, "c", 0))
            .collect();
        Frame { rows, ..Frame::default() }
    }

    #[test]
    fn selection_moves_within_the_rows() {
        let (f, mut ui) = (frame(&["a", "b"]), Ui::new(false));
        ui.on_key(KeyCode::Char('j'), &f);
        ui.on_key(KeyCode::Down, &f);
        assert_eq!(ui.selected, 1);
        ui.on_key(KeyCode::Char('k'), &f);
        ui.on_key(KeyCode::Up, &f);
        assert_eq!(ui.selected, 0);
        assert_eq!(ui.on_key(KeyCode::Enter, &f), Command::Tail("a".into()));
        assert_eq!(ui.on_key(KeyCode::Char('w'), &f), Command::Verdict("a".into()));
    }

    #[test]
    fn actions_need_act_and_a_confirmation() {
        let f = frame(&["a", "b"]);
        let mut ro = Ui::new(false);
        assert_eq!(ro.on_key(KeyCode::Char('x'), &f), Command::Nothing);
        assert!(ro.confirm.is_none() && ro.message.as_deref().unwrap_or("").contains("--act"));
        let mut ui = Ui::new(true);
        ui.on_key(KeyCode::Char('j'), &f);
        assert_eq!(ui.on_key(KeyCode::Char('x'), &f), Command::Nothing);
        assert_eq!(ui.on_key(KeyCode::Char('y'), &f), Command::Do(Act::Stop, "b".into()));
        ui.on_key(KeyCode::Char('i'), &f);
        assert_eq!(ui.on_key(KeyCode::Char('n'), &f), Command::Nothing);
        assert!(ui.confirm.is_none() && ui.message.as_deref() == Some("b: interrupt cancelled"));
    }

    #[test]
    fn an_overlay_closes_before_the_view_quits() {
        let (f, mut ui) = (frame(&["a"]), Ui::new(false));
        assert_eq!(ui.on_key(KeyCode::Char('?'), &f), Command::Nothing);
        assert_eq!(ui.overlay, Overlay::Help);
        assert_eq!(ui.on_key(KeyCode::Esc, &f), Command::Refresh);
        assert_eq!(ui.overlay, Overlay::None);
        assert_eq!(ui.on_key(KeyCode::Esc, &f), Command::Quit);
    }
}

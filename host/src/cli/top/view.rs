//! Draws a [`Frame`] with ratatui: a header line per machine, one row per agent. Narrow
//! terminals drop the least needed columns first; `NO_COLOR` draws without colour.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Row as TableRow, Table};

use super::keys::{Overlay, Ui, HELP};
use super::model::{duration, Frame, Row};
use crate::agents::AgentState;

/// Columns, most needed first: (title, width).
const COLUMNS: [(&str, u16); 10] = [
    ("AGENT", 14),
    ("STATE", 18),
    ("LIMIT", 22),
    ("LEASE", 12),
    ("TASK", 23),
    ("SENT", 14),
    ("QUIET", 7),
    ("HOST", 10),
    ("PROFILE", 9),
    ("SOURCE", 7),
];

fn colour(state: AgentState) -> Color {
    match state {
        AgentState::Idle => Color::Green,
        AgentState::Working => Color::Cyan,
        AgentState::Limited | AgentState::Dialog => Color::Yellow,
        AgentState::Exited | AgentState::Unknown => Color::Red,
        _ => Color::Gray,
    }
}

fn limit_cell(r: &Row) -> String {
    let Some(l) = &r.limit else { return String::new() };
    let bar = l.used_percent.map(|p| {
        let filled = usize::from(p.min(100)) / 20;
        format!(" [{}{}]", "#".repeat(filled), ".".repeat(5 - filled))
    });
    let reset = l.reset_in_seconds.map(|s| format!(" {}", duration(s))).unwrap_or_default();
    format!("{}{}{}", l.kind, bar.unwrap_or_default(), reset)
}

/// A receipt word, short enough for its column.
fn receipt_word(receipt: &str) -> &str {
    match receipt {
        "turn_started" => "started",
        "submitted_no_turn_started" => "no turn",
        "blocked_by_limit" => "limited",
        "waiting_on_dialog" => "dialog",
        other => other,
    }
}

fn cells(r: &Row) -> [String; 10] {
    let lease = match r.lease {
        "free" => "free".to_owned(),
        who => format!("{who} {}", duration(r.lease_seconds)),
    };
    let state = match (r.error, r.state_seconds) {
        (Some(e), _) => e.to_owned(),
        (None, Some(s)) => format!("{} {}", r.state.as_str(), duration(s)),
        (None, None) => r.state.as_str().to_owned(),
    };
    let task = r.task.as_ref().map_or(String::new(), |t| {
        let age = t.age_seconds.map(|a| format!(" {}", duration(a))).unwrap_or_default();
        format!("{}{age} {}", t.role, t.delivery)
    });
    let sent = r.sent.map_or(String::new(), |(ago, receipt)| match receipt {
        Some(w) => format!("{} {}", duration(ago), receipt_word(w)),
        None => duration(ago),
    });
    [
        r.agent.clone(),
        state,
        limit_cell(r),
        lease,
        task,
        sent,
        r.quiet_seconds.map(duration).unwrap_or_default(),
        r.host.clone(),
        r.profile.clone(),
        r.source.to_owned(),
    ]
}

/// How many columns fit in `width` (at least the agent and its state).
fn columns_for(width: u16) -> usize {
    let mut used = 0u16;
    COLUMNS
        .iter()
        .take_while(|(_, w)| {
            used = used.saturating_add(w + 1);
            used <= width
        })
        .count()
        .max(2)
}

fn header_lines(f: &Frame) -> Vec<Line<'static>> {
    let h = &f.header;
    let mem = h.mem_available_mib.map_or("?".to_owned(), |m| format!("{m} MiB"));
    let psi = h.memory_pressure.map_or("n/a".to_owned(), |p| format!("{p:.1}"));
    let busy = h.busy_check.map_or("open".to_owned(), |c| format!("busy ({c})"));
    let mut lines = vec![Line::from(format!(
        "local: {mem} free, memory pressure {psi}, workers {}/{}, admission {busy}; near limit {}, limited {}",
        h.workers_running, h.max_workers, h.near_limit, h.blocked
    ))];
    for (name, reachable, rtt) in &h.hosts {
        let state = if *reachable { format!("reachable, {rtt} ms") } else { "UNREACHABLE".to_owned() };
        lines.push(Line::from(format!("host {name}: {state}")));
    }
    lines
}

/// Draws the frame into `area` of `buf`; `selected` highlights one row.
pub fn draw(f: &Frame, area: Rect, buf: &mut Buffer, selected: Option<usize>, colour_on: bool) {
    let head = header_lines(f);
    let [top, table] = Layout::vertical([Constraint::Length(head.len() as u16 + 2), Constraint::Min(1)]).areas(area);
    let title = format!(" codex-master top: {} agents ", f.rows.len());
    ratatui::widgets::Widget::render(Paragraph::new(head).block(Block::bordered().title(title)), top, buf);
    let n = columns_for(area.width.saturating_sub(2));
    let widths: Vec<Constraint> = COLUMNS[..n].iter().map(|(_, w)| Constraint::Length(*w)).collect();
    let bold = if colour_on { Style::default().add_modifier(Modifier::BOLD) } else { Style::default() };
    let titles = TableRow::new(COLUMNS[..n].iter().map(|(t, _)| *t)).style(bold);
    let rows = f.rows.iter().enumerate().map(|(i, r)| {
        let mut style = if colour_on { Style::default().fg(colour(r.state)) } else { Style::default() };
        if selected == Some(i) {
            style = style.add_modifier(Modifier::REVERSED);
        }
        TableRow::new(cells(r).into_iter().take(n)).style(style)
    });
    let t = Table::new(rows, widths).header(titles).block(Block::bordered());
    ratatui::widgets::Widget::render(t, table, buf);
}

/// The live view: the frame, then what the keys opened over it, and a line at the bottom for a
/// confirmation, an action's outcome or a stale frame.
pub fn draw_live(f: &Frame, ui: &Ui, stale: bool, colour_on: bool, area: Rect, buf: &mut Buffer) {
    draw(f, area, buf, Some(ui.selected), colour_on);
    let (title, text) = match &ui.overlay {
        Overlay::None => (String::new(), ""),
        Overlay::Tail { agent, text } => (format!(" {agent}: redacted tail (Esc closes) "), text.as_str()),
        Overlay::Verdict { agent, text } => (format!(" {agent}: watchdog dry run (Esc closes) "), text.as_str()),
        Overlay::Help => (" keys (Esc closes) ".to_owned(), HELP),
    };
    if ui.overlay != Overlay::None {
        overlay(&title, text, area, buf);
    }
    let note = if stale { Some(" stale: the last observation did not finish in time ") } else { ui.message.as_deref() };
    if let (Some(note), true) = (note, area.height > 2) {
        let line = Rect { y: area.y + area.height - 1, height: 1, ..area };
        ratatui::widgets::Widget::render(ratatui::widgets::Clear, line, buf);
        ratatui::widgets::Widget::render(Paragraph::new(note.to_owned()), line, buf);
    }
}

/// A box over most of the view with `text`, its last lines when it does not fit.
fn overlay(title: &str, text: &str, area: Rect, buf: &mut Buffer) {
    let inner = Rect {
        x: area.x + 2.min(area.width / 10),
        y: area.y + 1,
        width: area.width.saturating_sub(2 * 2.min(area.width / 10)),
        height: area.height.saturating_sub(2),
    };
    let lines: Vec<&str> = text.lines().collect();
    let shown = &lines[lines.len().saturating_sub(inner.height.saturating_sub(2) as usize)..];
    let body: Vec<Line<'static>> = shown.iter().map(|l| Line::from((*l).to_owned())).collect();
    ratatui::widgets::Widget::render(ratatui::widgets::Clear, inner, buf);
    let p = Paragraph::new(body).block(Block::bordered().title(title.to_owned()));
    ratatui::widgets::Widget::render(p, inner, buf);
}

/// The buffer as text lines, trailing blanks trimmed (for `top --once`).
pub fn text(buf: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        let line: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol().to_owned()).collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_terminals_drop_the_least_needed_columns_first() {
        assert_eq!(columns_for(200), COLUMNS.len());
        assert_eq!(columns_for(80), 4);
        assert_eq!(columns_for(10), 2);
    }
}

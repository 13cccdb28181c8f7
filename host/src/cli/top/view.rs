//! Draws a [`Frame`] with ratatui: a header line per machine, one row per agent. Narrow
//! terminals drop the least needed columns first; `NO_COLOR` draws without colour.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Row as TableRow, Table};

use super::model::{duration, Frame, Row};
use crate::agents::AgentState;

/// Columns, most needed first: (title, width).
const COLUMNS: [(&str, u16); 8] = [
    ("AGENT", 14),
    ("STATE", 13),
    ("LIMIT", 22),
    ("LEASE", 12),
    ("QUIET", 7),
    ("HOST", 10),
    ("PROFILE", 9),
    ("SOURCE", 8),
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

fn cells(r: &Row) -> [String; 8] {
    let lease = match r.lease {
        "free" => "free".to_owned(),
        who => format!("{who} {}", duration(r.lease_seconds)),
    };
    let state = r.error.map_or_else(|| r.state.as_str().to_owned(), |e| e.to_owned());
    [
        r.agent.clone(),
        state,
        limit_cell(r),
        lease,
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
        assert_eq!(columns_for(80), 5);
        assert_eq!(columns_for(10), 2);
    }
}

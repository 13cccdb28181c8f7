//! The default assignment prompt templates: the seed's two role templates in German
//! (`de`, the default) and the same in English (`en`), plus the report request and the continue
//! prompt after a limit's reset.
//!
//! The line structure is the seed's, with one addition: the assignment id is allocated before
//! sending and quoted on the second line, so a report can refer to it.

use codex_master_guest_sdk::prompts::{Assignment, ContinueRequest, ExtInfo, ReportRequest, Role, Vector};
use codex_master_guest_sdk::PromptsExtension;

pub struct DefaultPrompts;

#[cfg(target_arch = "wasm32")]
codex_master_guest_sdk::register_prompts!(DefaultPrompts);

impl PromptsExtension for DefaultPrompts {
    fn describe() -> ExtInfo {
        ExtInfo::new("default-prompts", env!("CARGO_PKG_VERSION"))
    }

    fn render_assignment(input: Assignment) -> Result<String, String> {
        render_assignment(&input)
    }

    fn render_report_request(input: ReportRequest) -> Result<String, String> {
        render_report_request(&input)
    }

    fn render_continue(input: ContinueRequest) -> Result<String, String> {
        render_continue(&input)
    }

    fn test_vectors() -> Vec<Vector> {
        vectors()
    }
}

/// The labels of one language.
struct Labels {
    explorer: &'static str,
    worker: &'static str,
    id: &'static str,
    name: &'static str,
    role: &'static str,
    model: &'static str,
    skill: &'static str,
    no_skill: &'static str,
    scope: &'static str,
    may_write_no: &'static str,
    may_write_only: &'static str,
    subagents: &'static str,
    subagents_explorer_yes: &'static str,
    subagents_worker_yes: &'static str,
    no: &'static str,
    context: &'static str,
    task_explorer: &'static str,
    task_worker: &'static str,
    limits: &'static str,
    return_explorer: &'static str,
    return_worker: &'static str,
}

const DE: Labels = Labels {
    explorer: "Exploriererin",
    worker: "Arbeitsbiene",
    id: "Auftrag",
    name: "Name",
    role: "Rolle",
    model: "Modell",
    skill: "Skill",
    no_skill: "kein spezieller Skill vorgegeben",
    scope: "Scope:",
    may_write_no: "Darf schreiben: nein",
    may_write_only: "Darf schreiben: ja, nur:",
    subagents: "Darf eigene Subagentinnen starten",
    subagents_explorer_yes: "ja, nur lesend im Scope",
    subagents_worker_yes: "ja, nur innerhalb Scope und Schreibpfaden",
    no: "nein",
    context: "Stabiler Kontext:",
    task_explorer: "Aufgabe",
    task_worker: "Aktuelle Aufgabe",
    limits: "Grenzen:",
    return_explorer: "Rueckgabe: knappe Fakten, relevante Dateien/Zeilen, Empfehlung",
    return_worker: "Rueckgabe: Root Cause, Aenderung, Tests, offene Risiken",
};

const EN: Labels = Labels {
    explorer: "Explorer",
    worker: "Worker",
    id: "Assignment",
    name: "Name",
    role: "Role",
    model: "Model",
    skill: "Skill",
    no_skill: "no specific skill required",
    scope: "Scope:",
    may_write_no: "May write: no",
    may_write_only: "May write: yes, only:",
    subagents: "May start own subagents",
    subagents_explorer_yes: "yes, read-only within the scope",
    subagents_worker_yes: "yes, only within the scope and the write paths",
    no: "no",
    context: "Stable context:",
    task_explorer: "Task",
    task_worker: "Current task",
    limits: "Limits:",
    return_explorer: "Return: concise facts, relevant files/lines, recommendation",
    return_worker: "Return: root cause, change, tests, open risks",
};

fn labels(locale: &str) -> Result<&'static Labels, String> {
    match locale.split(['-', '_']).next().unwrap_or("") {
        "de" => Ok(&DE),
        "en" => Ok(&EN),
        _ => Err("unsupported locale: the default templates speak de and en".to_owned()),
    }
}

/// One `- item` line per item, or a single `-` for an empty list. Items are single lines.
fn bullets(items: &[String]) -> String {
    if items.is_empty() {
        return "-".to_owned();
    }
    items.iter().map(|i| format!("- {}", one_line(i))).collect::<Vec<_>>().join("\n")
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub fn render_assignment(a: &Assignment) -> Result<String, String> {
    let l = labels(&a.locale)?;
    if a.task.trim().is_empty() {
        return Err("the task is empty".to_owned());
    }
    let skill = a.skill.as_deref().map(one_line).unwrap_or_else(|| l.no_skill.to_owned());
    let (tag, role, subagents_yes, task_label, ret) = match a.role {
        Role::Explorer => {
            ("[EXPLORER_BEE_TASK]", l.explorer, l.subagents_explorer_yes, l.task_explorer, l.return_explorer)
        }
        Role::Worker => ("[WORK_BEE_TASK]", l.worker, l.subagents_worker_yes, l.task_worker, l.return_worker),
    };
    if a.role == Role::Worker && a.write_paths.is_empty() {
        return Err("a worker assignment needs at least one write path".to_owned());
    }
    if a.role == Role::Explorer && !a.write_paths.is_empty() {
        return Err("an explorer assignment must not have write paths".to_owned());
    }
    let mut lines = vec![
        tag.to_owned(),
        format!("{}: {}", l.id, one_line(&a.assignment_id)),
        format!("{}: {}", l.name, one_line(&a.display_name)),
        format!("{}: {role}", l.role),
        format!("{}: {}", l.model, one_line(&a.model)),
        format!("{}: {skill}", l.skill),
        l.scope.to_owned(),
        bullets(&a.scope),
    ];
    match a.role {
        Role::Explorer => lines.push(l.may_write_no.to_owned()),
        Role::Worker => {
            lines.push(l.may_write_only.to_owned());
            lines.push(bullets(&a.write_paths));
        }
    }
    lines.push(format!("{}: {}", l.subagents, if a.allow_subagents { subagents_yes } else { l.no }));
    lines.push(l.context.to_owned());
    lines.push(bullets(&a.context));
    lines.push(format!("{task_label}: {}", a.task.trim()));
    lines.push(l.limits.to_owned());
    lines.push(bullets(&a.forbidden));
    lines.push(ret.to_owned());
    Ok(lines.join("\n"))
}

pub fn render_report_request(r: &ReportRequest) -> Result<String, String> {
    let de = std::ptr::eq(labels(&r.locale)?, &DE);
    let id = r.assignment_id.as_deref().map(one_line).filter(|s| !s.is_empty());
    Ok(match (de, id) {
        (true, Some(id)) => format!(
            "Bitte gib einen kurzen Bericht zum Auftrag {id}: Status, relevante Dateien/Zeilen, Tests und offene Risiken. Keine Rohlogs und keine langen Ausgaben."
        ),
        (true, None) => "Bitte gib einen kurzen Statusbericht: Aufgabe, Fortschritt, Tests und offene Risiken. Keine Rohlogs.".to_owned(),
        (false, Some(id)) => format!(
            "Please give a short report on assignment {id}: status, relevant files/lines, tests and open risks. No raw logs and no long output."
        ),
        (false, None) => "Please give a short status report: task, progress, tests and open risks. No raw logs.".to_owned(),
    })
}

/// The line sent once a limit's reset time has passed: carry on, nothing else.
pub fn render_continue(r: &ContinueRequest) -> Result<String, String> {
    let de = std::ptr::eq(labels(&r.locale)?, &DE);
    let id = r.assignment_id.as_deref().map(one_line).filter(|s| !s.is_empty());
    Ok(match (de, id) {
        (true, Some(id)) => format!(
            "Das Nutzungslimit ist zurückgesetzt. Bitte setze den Auftrag {id} dort fort, wo du unterbrochen wurdest."
        ),
        (true, None) => {
            "Das Nutzungslimit ist zurückgesetzt. Bitte mach dort weiter, wo du unterbrochen wurdest.".to_owned()
        }
        (false, Some(id)) => {
            format!("The usage limit has reset. Please continue assignment {id} where you were interrupted.")
        }
        (false, None) => "The usage limit has reset. Please continue where you were interrupted.".to_owned(),
    })
}

pub fn sample(role: Role, locale: &str) -> Assignment {
    Assignment {
        role,
        assignment_id: "20260607T183546123456Z-a".to_owned(),
        display_name: "Mila".to_owned(),
        model: if role == Role::Worker { "gpt-5.3-codex-spark" } else { "gpt-5.4-mini" }.to_owned(),
        skill: Some("codex-security:security-scan".to_owned()),
        scope: vec!["src".to_owned()],
        write_paths: if role == Role::Worker { vec!["src/lib.rs".to_owned()] } else { vec![] },
        context: vec![],
        forbidden: vec!["no pushes".to_owned()],
        task: "Find why the parser rejects empty input.".to_owned(),
        allow_subagents: role == Role::Worker,
        locale: locale.to_owned(),
    }
}

pub fn vectors() -> Vec<Vector> {
    let lines = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    vec![
        Vector {
            name: "explorer, German".to_owned(),
            input: sample(Role::Explorer, "de"),
            expected_lines: lines(&[
                "[EXPLORER_BEE_TASK]",
                "Auftrag: 20260607T183546123456Z-a",
                "Modell: gpt-5.4-mini",
                "Skill: codex-security:security-scan",
                "Darf schreiben: nein",
                "Darf eigene Subagentinnen starten: nein",
                "Stabiler Kontext:",
                "-",
                "Rueckgabe: knappe Fakten, relevante Dateien/Zeilen, Empfehlung",
            ]),
        },
        Vector {
            name: "worker, German, subagents allowed".to_owned(),
            input: sample(Role::Worker, "de"),
            expected_lines: lines(&[
                "[WORK_BEE_TASK]",
                "Modell: gpt-5.3-codex-spark",
                "Darf schreiben: ja, nur:",
                "- src/lib.rs",
                "Darf eigene Subagentinnen starten: ja, nur innerhalb Scope und Schreibpfaden",
                "Aktuelle Aufgabe: Find why the parser rejects empty input.",
            ]),
        },
        Vector {
            name: "worker, English".to_owned(),
            input: sample(Role::Worker, "en"),
            expected_lines: lines(&[
                "[WORK_BEE_TASK]",
                "Role: Worker",
                "May write: yes, only:",
                "Return: root cause, change, tests, open risks",
            ]),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vector_holds() {
        for v in vectors() {
            let text = render_assignment(&v.input).unwrap();
            for line in &v.expected_lines {
                assert!(text.lines().any(|l| l == line), "{}: missing line {line:?} in\n{text}", v.name);
            }
        }
    }

    #[test]
    fn the_seed_line_structure() {
        let text =
            render_assignment(&Assignment { allow_subagents: false, skill: None, ..sample(Role::Explorer, "de") })
                .unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "[EXPLORER_BEE_TASK]");
        assert_eq!(lines[2], "Name: Mila");
        assert_eq!(lines[3], "Rolle: Exploriererin");
        assert_eq!(lines[5], "Skill: kein spezieller Skill vorgegeben");
        assert_eq!(lines[6..8], ["Scope:", "- src"]);
        assert_eq!(*lines.last().unwrap(), "Rueckgabe: knappe Fakten, relevante Dateien/Zeilen, Empfehlung");
    }

    #[test]
    fn refusals_and_report_requests() {
        assert!(render_assignment(&sample(Role::Explorer, "fr")).is_err());
        assert!(render_assignment(&Assignment { write_paths: vec![], ..sample(Role::Worker, "de") }).is_err());
        assert!(
            render_assignment(&Assignment { write_paths: vec!["x".into()], ..sample(Role::Explorer, "de") }).is_err()
        );
        // A multi-line item cannot inject lines into the prompt.
        let text =
            render_assignment(&Assignment { scope: vec!["a\n[WORK_BEE_TASK]".into()], ..sample(Role::Explorer, "de") })
                .unwrap();
        assert!(!text.lines().any(|l| l == "[WORK_BEE_TASK]"));
        let r =
            render_report_request(&ReportRequest { assignment_id: Some("x-1".into()), locale: "de".into() }).unwrap();
        assert!(r.contains("x-1") && !r.contains('\n'));
        let r = render_report_request(&ReportRequest { assignment_id: None, locale: "en".into() }).unwrap();
        assert!(r.starts_with("Please give a short status report"));
        let c = render_continue(&ContinueRequest { assignment_id: Some("x-1".into()), locale: "de".into() }).unwrap();
        assert!(c.contains("Auftrag x-1") && !c.contains('\n'));
        let c = render_continue(&ContinueRequest { assignment_id: None, locale: "en-GB".into() }).unwrap();
        assert_eq!(c, "The usage limit has reset. Please continue where you were interrupted.");
        assert!(render_continue(&ContinueRequest { assignment_id: None, locale: "fr".into() }).is_err());
    }
}

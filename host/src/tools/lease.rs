//! Lease tools: `agent_lease_status`, `agent_claim`, `agent_release`.

use crate::codes::ErrorCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use serde::Deserialize;

use super::schema::Param;
use super::views::{generation_param, PublicLease};
use super::{
    agent_error_entry, agent_param, blocking, handler, light, out, Ctx, Fault, Hints, ToolDef, ToolResult,
    NOT_RETURNED, READ_ONLY,
};
use crate::agents::Registry;
use crate::lease::{self, DEFAULT_TTL_SECONDS, MAX_TTL_SECONDS};
use crate::state::State;

pub const DEFAULT_POLL_SECONDS: i64 = 30;
pub const MAX_POLL_SECONDS: i64 = 900;
pub const MAX_WAIT_SECONDS: i64 = 600;

fn public_lease_schema() -> Value {
    out::object(
        json!({
            "agent": {"type": "string"},
            "state": out::words::<lease::LeaseState>(),
            "holder": out::words::<lease::Holder>(),
            "held_by_this_server": {"type": "boolean"},
            "expires_at_utc": out::nullable("string"),
            "seconds_remaining": {"type": "integer", "minimum": 0},
            "ttl_seconds": out::nullable("integer"),
            "generation": out::nullable("integer"),
            "raw_output": out::not_returned(),
        }),
        &["agent", "state", "holder", "held_by_this_server", "seconds_remaining", "generation"],
    )
}

pub fn tools(reg: &Registry) -> Vec<ToolDef> {
    vec![
        ToolDef {
            name: "agent_lease_status",
            title: "Lease status",
            description: "Show which agents are leased and for how long, without revealing the holder's identity.",
            cli_name: "lease-status",
            params: vec![agent_param::one_or_all(reg)],
            output: || out::results(public_lease_schema()),
            hints: READ_ONLY,
            multi_agent: true,
            handler: handler!(lease_status),
        },
        ToolDef {
            name: "agent_claim",
            title: "Claim an agent",
            description: "Lease an agent for this client so no other lead can drive it. Renews our own lease; can wait (bounded polling, cancellable) for another client's lease to end. `force` takes over only when the agent is stopped.",
            cli_name: "claim",
            params: vec![
                agent_param::one(reg),
                Param::integer("ttl_seconds", 1, Some(MAX_TTL_SECONDS as i64), "Lease lifetime in seconds.").default(json!(DEFAULT_TTL_SECONDS)),
                Param::integer("wait_seconds", 0, Some(MAX_WAIT_SECONDS), "How long to wait for another client's lease.").default(json!(0)),
                Param::integer("poll_interval_seconds", 1, Some(MAX_POLL_SECONDS), "Seconds between attempts while waiting.")
                    .default(json!(DEFAULT_POLL_SECONDS)),
                Param::boolean("force", "Take over another client's lease; allowed only when the agent is stopped."),
                generation_param(),
            ],
            output: || out::object(
                json!({
                    "agent": {"type": "string"},
                    "status": out::words::<lease::ClaimStatus>(),
                    "lease": public_lease_schema(),
                    "previous_lease": public_lease_schema(),
                    "waited_seconds": {"type": "integer"},
                    "poll_count": {"type": "integer"},
                    "raw_output": out::not_returned(),
                }),
                &["agent", "status", "lease", "previous_lease", "waited_seconds", "poll_count"],
            ),
            hints: Hints { read_only: false, destructive: false, idempotent: true },
            multi_agent: false,
            handler: handler!(claim),
        },
        ToolDef {
            name: "agent_release",
            title: "Release an agent",
            description: "Release our own lease on an agent. `force` releases another client's lease, only when the agent is stopped or the lease expired.",
            cli_name: "release",
            params: vec![agent_param::one(reg), Param::boolean("force", "Release another client's lease (agent must be stopped)."), generation_param()],
            output: || out::object(
                json!({
                    "agent": {"type": "string"},
                    "status": out::words::<lease::ReleaseStatus>(),
                    "previous_lease": public_lease_schema(),
                    "lease": public_lease_schema(),
                    "raw_output": out::not_returned(),
                }),
                &["agent", "status", "previous_lease", "lease"],
            ),
            hints: Hints { read_only: false, destructive: false, idempotent: true },
            multi_agent: false,
            handler: handler!(release),
        },
    ]
}

/// `agent_lease_status` arguments.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LeaseStatusArgs {
    agent: String,
}

async fn lease_status(ctx: Arc<Ctx>, args: LeaseStatusArgs) -> ToolResult {
    let agents = ctx.registry.select(&args.agent);
    let client = ctx.client_id.clone();
    light(move || {
        let results: Vec<Value> = match State::open() {
            Ok(state) => agents.iter().map(|a| lease::read(&state, a).public(a, &client)).collect(),
            Err(e) => {
                let err = Fault::from(e);
                agents.iter().map(|a| agent_error_entry(a, &err, &client)).collect()
            }
        };
        Ok(json!({"results": results}))
    })
    .await
}

/// `agent_claim` arguments.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClaimArgs {
    agent: String,
    ttl_seconds: u64,
    wait_seconds: u64,
    poll_interval_seconds: u64,
    force: bool,
    lease_generation: Option<u64>,
}

async fn claim(ctx: Arc<Ctx>, args: ClaimArgs) -> ToolResult {
    let ClaimArgs { agent, ttl_seconds: ttl, force, lease_generation: expected, .. } = args;
    let wait = Duration::from_secs(args.wait_seconds);
    let poll = Duration::from_secs(args.poll_interval_seconds);
    let started = Instant::now();
    let mut poll_count = 0u64;
    loop {
        let force = lease::Force::of(force, force && crate::session::stop::agent_stopped(&ctx, &agent).await?);
        let (a, c) = (agent.clone(), ctx.client_id.clone());
        let attempt = blocking(move || {
            let state = State::open()?;
            let _lock = match state.agent_lock(&a) {
                Ok(lock) => lock,
                // Another process is driving the agent right now: a busy lease, for waiting.
                Err(e) => return Ok(Err(Fault::from(e))),
            };
            Ok(lease::claim(&state, &a, &c, ttl, force, expected).map_err(|r| Fault::lease_refusal(&a, r)))
        })
        .await?;
        match attempt {
            Ok(done) => {
                return Ok(json!({
                    "agent": agent,
                    "status": done.status.as_str(),
                    "lease": done.lease.public(&agent, &ctx.client_id),
                    "previous_lease": done.previous.public(&agent, &ctx.client_id),
                    "waited_seconds": started.elapsed().as_secs(),
                    "poll_count": poll_count,
                    "raw_output": super::NOT_RETURNED,
                }));
            }
            Err(err) if err.code == ErrorCode::AgentLeaseHeldByOtherClient || err.code == ErrorCode::AgentLockBusy => {
                let remaining = wait.saturating_sub(started.elapsed());
                if remaining.is_zero() {
                    return Err(err.with("waited_seconds", started.elapsed().as_secs()).with("poll_count", poll_count));
                }
                // Cancellation (MCP notifications/cancelled) drops this future here.
                tokio::time::sleep(poll.min(remaining)).await;
                poll_count += 1;
            }
            Err(err) => return Err(err),
        }
    }
}

/// `agent_release` arguments.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReleaseArgs {
    agent: String,
    force: bool,
    lease_generation: Option<u64>,
}

async fn release(ctx: Arc<Ctx>, args: ReleaseArgs) -> ToolResult {
    let agent = args.agent.as_str();
    let released = crate::session::stop::release_agent(&ctx, agent, args.force, args.lease_generation).await?;
    Ok(json!({
        "agent": agent,
        "status": released.status.as_str(),
        "previous_lease": released.previous.public(agent, &ctx.client_id),
        "lease": released.lease.public(agent, &ctx.client_id),
        "raw_output": NOT_RETURNED,
    }))
}

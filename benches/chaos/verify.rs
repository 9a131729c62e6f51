//! The soak's verdict, from three independent records: the database, the broker (what is left in
//! every queue, every event a product received) and the simulator (what each system saw).

use crate::producer::Sent;
use crate::support::Stack;
use crate::WEBHOOK_SYSTEMS;
use lapin::options::{BasicGetOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};
use uuid::Uuid;

const TERMINAL: &str = "('erased', 'nothing_to_erase', 'exempt', 'failed')";

/// Unfinished and all tasks per connector.
pub type Backlog = BTreeMap<String, (i64, i64)>;

pub async fn backlog(stack: &Stack) -> Backlog {
    let rows = stack
        .db()
        .await
        .query(
            &format!(
                "SELECT connector, count(*) FILTER (WHERE state NOT IN {TERMINAL}), count(*) FROM tasks GROUP BY 1"
            ),
            &[],
        )
        .await
        .unwrap();
    rows.iter().map(|r| (r.get(0), (r.get(1), r.get(2)))).collect()
}

/// The backlog now, or `None` while the database does not answer (it may be crash-restarting).
pub async fn try_backlog(stack: &Stack) -> Option<Backlog> {
    let sql =
        format!("SELECT connector, count(*) FILTER (WHERE state NOT IN {TERMINAL}), count(*) FROM tasks GROUP BY 1");
    let (client, connection) = tokio_postgres::connect(&stack.db_url, stack.postgres_tls().connector()).await.ok()?;
    tokio::spawn(connection);
    let rows = client.query(&sql, &[]).await.ok()?;
    Some(rows.iter().map(|r| (r.get(0), (r.get(1), r.get(2)))).collect())
}

/// The backlog sampled while the load runs, at the moment the rate-limited `billing` had the most
/// tasks open. Measured at load end alone, the premise could look unmet: the fault plan restarts
/// the whole cluster near the end of the load, arrivals stop meanwhile, and `billing` catches up
/// on exactly the moment the check would look at.
#[derive(Default)]
pub struct Peak {
    pub at: Duration,
    pub backlog: Backlog,
}

impl Peak {
    fn billing_open(backlog: &Backlog) -> i64 {
        backlog.get("billing").map_or(0, |(open, _)| *open)
    }

    /// Sample every 2 s until `until`, keeping the sample where `billing` had the most open tasks.
    pub async fn watch_until(&mut self, stack: &Stack, started: Instant, until: Instant) {
        while Instant::now() < until {
            if let Some(backlog) = try_backlog(stack).await {
                if Peak::billing_open(&backlog) > Peak::billing_open(&self.backlog) {
                    *self = Peak { at: started.elapsed(), backlog };
                }
            }
            tokio::time::sleep(Duration::from_secs(2).min(until.saturating_duration_since(Instant::now()))).await;
        }
    }
}

pub fn show(backlog: &Backlog) -> String {
    backlog.iter().map(|(c, (open, all))| format!("{c} {open}/{all}")).collect::<Vec<_>>().join(", ")
}

/// Wait until every valid request is completed and every event is published, or `timeout`.
pub async fn wait_settled(stack: &Stack, sent: &Sent, timeout: Duration, started: Instant) {
    let ids: Vec<Uuid> = sent.requests.iter().map(|(id, _)| *id).collect();
    let deadline = Instant::now() + timeout;
    let mut last_print = Instant::now();
    loop {
        let db = stack.db().await;
        let done: i64 = db
            .query_one("SELECT count(*) FROM requests WHERE id = ANY($1) AND state = 'completed'", &[&ids])
            .await
            .unwrap()
            .get(0);
        let unsent: i64 = db.query_one("SELECT count(*) FROM outbox WHERE sent_at IS NULL", &[]).await.unwrap().get(0);
        if done as usize == ids.len() && unsent == 0 {
            println!("  {:>6.1} s  settled: {done} requests completed, outbox empty", started.elapsed().as_secs_f64());
            return;
        }
        if Instant::now() >= deadline {
            println!(
                "  {:>6.1} s  gave up waiting: {done}/{} completed, {unsent} events unsent",
                started.elapsed().as_secs_f64(),
                ids.len()
            );
            return;
        }
        if last_print.elapsed() >= Duration::from_secs(15) {
            let open = show(&backlog(stack).await);
            println!(
                "  {:>6.1} s  settling: {done}/{} completed; open tasks {open}",
                started.elapsed().as_secs_f64(),
                ids.len()
            );
            last_print = Instant::now();
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[derive(Default)]
pub struct Report {
    pub failures: Vec<String>,
    lines: Vec<String>,
}

impl Report {
    fn line(&mut self, line: String) {
        self.lines.push(line);
    }

    fn require(&mut self, ok: bool, what: String) {
        if !ok {
            self.failures.push(what);
        }
    }

    pub fn print(&self) {
        for line in &self.lines {
            println!("  {line}");
        }
    }
}

pub async fn check(
    stack: &Stack,
    sent: &Sent,
    events_queue: &str,
    backlog_at_load_end: &Backlog,
    peak: &Peak,
) -> Report {
    let mut report = Report::default();
    let ids: Vec<Uuid> = sent.requests.iter().map(|(id, _)| *id).collect();
    let db = stack.db().await;

    // The database: every request once, completed once, never reopened; nothing else executed.
    let states: HashMap<Uuid, (String, i32)> = db
        .query("SELECT id, state, generation FROM requests WHERE id = ANY($1)", &[&ids])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2))))
        .collect();
    let lost = ids.iter().filter(|id| !states.contains_key(id)).count();
    let not_completed = states.values().filter(|(state, _)| state != "completed").count();
    let reopened = states.values().filter(|(_, generation)| *generation != 1).count();
    let all_requests: i64 = db.query_one("SELECT count(*) FROM requests", &[]).await.unwrap().get(0);
    let completions: Vec<i64> = db
        .query(
            "SELECT count(*) FROM audit_log WHERE event = 'request.completed' AND request_id = ANY($1) GROUP BY request_id",
            &[&ids],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let completed_once = completions.iter().filter(|n| **n == 1).count();
    report.line(format!(
        "requests lost        {lost}   (not completed {not_completed}, completed more than once {}, reopened {reopened})",
        completions.len() - completed_once
    ));
    report.require(lost == 0, format!("{lost} published requests are not in the database"));
    report.require(not_completed == 0, format!("{not_completed} requests are not completed"));
    report.require(
        completed_once == ids.len(),
        format!("{} of {} requests were completed exactly once", completed_once, ids.len()),
    );
    report.require(reopened == 0, format!("{reopened} requests changed generation"));
    report.require(
        all_requests as usize == ids.len(),
        format!(
            "the database holds {all_requests} requests for {} valid ones sent: an invalid message was executed",
            ids.len()
        ),
    );

    // No half-written state: each request has its four tasks, all erased, each with its final
    // audit row, and exactly one completion event in the outbox.
    let torn: i64 = db
        .query_one(
            "WITH t AS (SELECT request_id, count(*) AS n,
                               count(*) FILTER (WHERE state IN ('erased', 'nothing_to_erase')) AS done
                        FROM tasks WHERE request_id = ANY($1) GROUP BY 1),
                  o AS (SELECT request_id, count(*) AS n FROM outbox
                        WHERE request_id = ANY($1) AND event_type = 'erasure.completed' AND destination = 'events'
                        GROUP BY 1),
                  unaudited AS (SELECT DISTINCT t.request_id FROM tasks t
                        WHERE t.request_id = ANY($1) AND NOT EXISTS (
                            SELECT 1 FROM audit_log a
                            WHERE a.request_id = t.request_id AND a.task_id = t.id AND a.event = 'task.' || t.state))
             SELECT count(*) FROM unnest($1::uuid[]) AS r(id)
             LEFT JOIN t ON t.request_id = r.id LEFT JOIN o ON o.request_id = r.id
             WHERE coalesce(t.n, 0) <> $2 OR coalesce(t.done, 0) <> $2 OR coalesce(o.n, 0) <> 1
                OR r.id IN (SELECT request_id FROM unaudited)",
            &[&ids, &((WEBHOOK_SYSTEMS.len() + 1) as i64)],
        )
        .await
        .unwrap()
        .get(0);
    report.line(format!("half-written state   {torn} requests (tasks, audit rows and outbox rows all agree)"));
    report.require(torn == 0, format!("{torn} requests have missing or unfinished tasks, audit rows or outbox rows"));

    // The simulator: every system erased every person; calls stay within the bound.
    let claims: HashMap<(Uuid, String), i64> = db
        .query(
            "SELECT t.request_id, t.connector, count(a.id) FROM tasks t
             LEFT JOIN audit_log a ON a.task_id = t.id AND a.event = 'task.running'
             WHERE t.request_id = ANY($1) GROUP BY 1, 2",
            &[&ids],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| ((r.get(0), r.get(1)), r.get(2)))
        .collect();
    let mut kept = 0;
    let (mut calls, mut repeated, mut over_bound, mut most) = (0usize, 0usize, 0usize, 0usize);
    for system in WEBHOOK_SYSTEMS {
        let mut per_person: HashMap<String, usize> = HashMap::new();
        for call in stack.sim.calls(system) {
            if let Some(email) = call.identifiers.iter().find(|i| i.contains('@')) {
                *per_person.entry(email.clone()).or_default() += 1;
            }
        }
        for (id, email) in &sent.requests {
            kept += usize::from(stack.sim.records(system, email) > 0);
            let n = per_person.get(email).copied().unwrap_or(0);
            let bound = claims.get(&(*id, system.to_string())).copied().unwrap_or(0) as usize;
            calls += n;
            most = most.max(n);
            over_bound += usize::from(n > bound);
            if system != "support" {
                repeated += n.saturating_sub(1);
            }
        }
    }
    let zendesk_kept = sent.requests.iter().filter(|(_, email)| stack.sim.zendesk().records(email) > 0).count();
    let zendesk_calls = stack.sim.calls("zendesk").len();
    report.line(format!(
        "systems erased       {} systems x {} people; records left: webhook {kept}, zendesk {zendesk_kept}",
        WEBHOOK_SYSTEMS.len() + 1,
        ids.len()
    ));
    report.line(format!(
        "connector calls      webhook {calls} (most for one person on one system: {most}; repeated erase calls: {repeated}; over the bound: {over_bound}); zendesk {zendesk_calls}"
    ));
    report.require(
        kept == 0 && zendesk_kept == 0,
        format!("systems still hold data: webhook {kept}, zendesk {zendesk_kept}"),
    );
    report.require(over_bound == 0, format!("{over_bound} tasks were called more often than they were claimed"));

    // One connector's backlog must not hold back the others: when `billing` had the most tasks
    // open (a quarter or more of its tasks), `accounts` kept up, then and at load end.
    let open = |backlog: &Backlog, c: &str| backlog.get(c).copied().unwrap_or((0, 0));
    let (accounts_open, accounts_all) = open(backlog_at_load_end, "accounts");
    let (billing_open, billing_all) = open(backlog_at_load_end, "billing");
    let (peak_billing_open, peak_billing_all) = open(&peak.backlog, "billing");
    let (peak_accounts_open, peak_accounts_all) = open(&peak.backlog, "accounts");
    let latency = latencies(stack).await;
    report.line(format!(
        "backlog at load end  billing (rate-limited) {billing_open}/{billing_all} open, accounts {accounts_open}/{accounts_all} open"
    ));
    report.line(format!(
        "backlog at its peak  {:.0} s: billing {peak_billing_open}/{peak_billing_all} open, accounts {peak_accounts_open}/{peak_accounts_all} open",
        peak.at.as_secs_f64()
    ));
    report.line(format!("task latency p50/p95 {latency}"));
    report.require(
        peak_billing_open * 4 >= peak_billing_all && peak_billing_all > 0,
        "the rate-limited connector never fell a quarter behind: the soak proves nothing about isolation".into(),
    );
    report.require(
        peak_accounts_open * 10 <= peak_accounts_all,
        format!(
            "accounts had {peak_accounts_open}/{peak_accounts_all} tasks open while billing's backlog peaked: it was held back"
        ),
    );
    report.require(
        accounts_open * 10 <= accounts_all,
        format!("accounts had {accounts_open}/{accounts_all} tasks open at load end: it was held back"),
    );

    // The broker: every confirmation published (duplicates only under the same message id).
    let connection = stack.amqp().await;
    let channel = connection.create_channel().await.unwrap();
    let mut deliveries = 0usize;
    let mut message_ids: HashMap<(String, String), HashSet<String>> = HashMap::new();
    while let Some(message) = channel.basic_get(events_queue.into(), BasicGetOptions { no_ack: true }).await.unwrap() {
        deliveries += 1;
        let delivery = message.delivery;
        let body: serde_json::Value = serde_json::from_slice(&delivery.data).unwrap_or_default();
        let request_id = body["request_id"].as_str().unwrap_or_default().to_string();
        let message_id = delivery.properties.message_id().as_ref().map(|m| m.to_string()).unwrap_or_default();
        message_ids.entry((request_id, delivery.routing_key.to_string())).or_default().insert(message_id);
    }
    let has = |id: &Uuid, event: &str| message_ids.contains_key(&(id.to_string(), event.to_string()));
    let unconfirmed = ids.iter().filter(|id| !has(id, "erasure.completed")).count();
    let unrejected = sent.rejected_ids.iter().filter(|id| !has(id, "erasure.rejected")).count();
    let split_ids = message_ids.values().filter(|m| m.len() != 1).count();
    let failed_events = message_ids.keys().filter(|(_, e)| e == "erasure.failed").count();
    let distinct: usize = message_ids.values().map(HashSet::len).sum();
    report.line(format!(
        "confirmations        {} completed events for {} requests; {} deliveries, {} duplicates (same message id), {} rejected events",
        ids.len() - unconfirmed,
        ids.len(),
        deliveries,
        deliveries - distinct,
        sent.rejected_ids.len() - unrejected
    ));
    report.require(unconfirmed == 0, format!("{unconfirmed} completed requests have no erasure.completed event"));
    report.require(unrejected == 0, format!("{unrejected} rejected messages have no erasure.rejected event"));
    report.require(split_ids == 0, format!("{split_ids} events were published under more than one message id"));
    report.require(failed_events == 0, format!("{failed_events} erasure.failed events"));

    // Nothing left in any queue but the dead-letter queue, which holds exactly the invalid ones.
    for queue in [stack.requests_queue(), events_queue.to_string()] {
        let passive = QueueDeclareOptions { passive: true, ..QueueDeclareOptions::default() };
        let q = channel.queue_declare(queue.as_str().into(), passive, FieldTable::default()).await.unwrap();
        report.require(q.message_count() == 0, format!("{} messages left in {queue}", q.message_count()));
        report.line(format!("left in queue        {queue}: {}", q.message_count()));
    }
    let expected: HashMap<&str, &str> = sent.invalid.iter().map(|(id, reason)| (id.as_str(), *reason)).collect();
    let mut seen: HashSet<String> = HashSet::new();
    let (mut dead, mut wrong) = (0usize, Vec::new());
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    while let Some(message) =
        channel.basic_get(stack.dead_letter_queue().as_str().into(), BasicGetOptions { no_ack: true }).await.unwrap()
    {
        dead += 1;
        let properties = &message.delivery.properties;
        let id = properties.message_id().as_ref().map(|m| m.to_string()).unwrap_or_default();
        let reason = erasure_worker::intake::dead_letter_reason(properties).unwrap_or_default();
        if expected.get(id.as_str()) != Some(&reason.as_str()) {
            wrong.push(format!("{id}: {reason}"));
        }
        if seen.insert(id) {
            *reasons.entry(reason).or_default() += 1;
        }
    }
    let missing = expected.keys().filter(|id| !seen.contains(**id)).count();
    report.line(format!(
        "dead-letter queue    {} messages for {} invalid sent ({} repeated under the same id): {:?}",
        dead,
        expected.len(),
        dead - seen.len(),
        reasons
    ));
    report.require(missing == 0, format!("{missing} invalid messages are not in the dead-letter queue"));
    report.require(wrong.is_empty(), format!("unexpected dead letters: {wrong:?}"));
    connection.close(200, "done".into()).await.ok();

    let unsent: i64 = db.query_one("SELECT count(*) FROM outbox WHERE sent_at IS NULL", &[]).await.unwrap().get(0);
    report.require(unsent == 0, format!("{unsent} events are still in the outbox"));
    report
}

async fn latencies(stack: &Stack) -> String {
    let rows = stack
        .db()
        .await
        .query(
            "SELECT connector,
                    percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - created_at)),
                    percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - created_at))
             FROM tasks GROUP BY 1 ORDER BY 1",
            &[],
        )
        .await
        .unwrap();
    rows.iter()
        .map(|r| format!("{} {:.1}/{:.1} s", r.get::<_, String>(0), r.get::<_, f64>(1), r.get::<_, f64>(2)))
        .collect::<Vec<_>>()
        .join(", ")
}

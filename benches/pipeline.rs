//! Throughput of the whole pipeline: N requests published on RabbitMQ, each fanned out to three
//! webhook systems on the simulator (answering at once), until N confirmations are received.
//! Run with `scripts/bench [REQUESTS]` (it starts PostgreSQL and RabbitMQ). Prints figures;
//! asserts nothing about speed.

#[path = "../tests/e2e/support.rs"]
#[allow(dead_code)]
mod support;

use erasure_worker::clock::SystemClock;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::BasicProperties;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{bytes, request, Instance, Stack, Worker};
use uuid::Uuid;

#[tokio::main]
async fn main() {
    let requests: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(1000);
    let stack = Stack::new().await;
    let systems = ["accounts", "billing", "support"];
    let instances: Vec<Instance> = systems.iter().map(|name| Instance { name, extra: "concurrency = 32" }).collect();
    let settings = stack.settings(
        &instances,
        "[database]\npool_size = 32\n[runner]\nclaim_batch = 32\n[intake]\nconcurrency = 32\nbrake_max_requests = 0\n[amqp]\nprefetch = 256\n[log]\nlevel = \"warn\"\n",
    );
    stack.declare_queues(&settings).await;
    for i in 0..requests {
        stack.sim.seed(systems[i % 3], &format!("bench{i}@example.com"), 1);
    }
    let mut events = stack.events().await;
    let worker = Worker::start(settings, Arc::new(SystemClock));

    let connection = stack.amqp().await;
    let channel = connection.create_channel().await.unwrap();
    channel.confirm_select(ConfirmSelectOptions::default()).await.unwrap();
    let started = Instant::now();
    for i in 0..requests {
        let body = bytes(&request(Uuid::new_v4(), &format!("bench{i}@example.com"), chrono::Utc::now()));
        let options = BasicPublishOptions { mandatory: true, ..BasicPublishOptions::default() };
        channel
            .basic_publish(
                "".into(),
                stack.requests_queue().as_str().into(),
                options,
                &body,
                BasicProperties::default().with_delivery_mode(2),
            )
            .await
            .unwrap();
    }
    channel.wait_for_confirms().await.unwrap();
    let published = started.elapsed();

    let mut completed = 0;
    while completed < requests {
        match events.next(Duration::from_secs(60)).await {
            Some(event) if event.routing_key == "erasure.completed" => completed += 1,
            Some(event) => panic!("unexpected event {}", event.routing_key),
            None => panic!("no event for 60 s after {completed} of {requests}"),
        }
    }
    let elapsed = started.elapsed();

    let db = stack.db().await;
    let row = db
        .query_one(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - received_at)),
                    percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - received_at)),
                    count(*) FILTER (WHERE state = 'completed')
             FROM requests",
            &[],
        )
        .await
        .unwrap();
    let (p50, p99, done): (f64, f64, i64) = (row.get(0), row.get(1), row.get(2));
    let calls: usize = systems.iter().map(|s| stack.sim.calls(s).len()).sum();
    worker.stop().await;

    let rate = requests as f64 / elapsed.as_secs_f64();
    println!("pipeline benchmark: {requests} requests x {} systems, simulator answering at once", systems.len());
    println!("  published in        {:>8.2} s", published.as_secs_f64());
    println!("  all confirmed in    {:>8.2} s", elapsed.as_secs_f64());
    println!("  throughput          {:>8.1} requests/s ({:.1} erasure tasks/s)", rate, rate * systems.len() as f64);
    println!("  intake -> settled   p50 {:.3} s, p99 {:.3} s", p50, p99);
    println!("  completed in db     {done}; vendor calls {calls}");
    assert_eq!(done as usize, requests);
}

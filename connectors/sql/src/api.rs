//! The database calls: the lookup count and the erase transaction, with every failure sorted
//! into retry or human.

use crate::Sql;
use erasure_connector::{Ctx, Failure, Subject};
use tokio_postgres::types::{ToSql, Type};

/// `$1` e-mails, `$2` phones, `$3` the product's user id, `$4` the subject's id in this system.
pub(crate) const PARAMETER_TYPES: [Type; 4] = [Type::TEXT_ARRAY, Type::TEXT_ARRAY, Type::TEXT, Type::TEXT];

impl Sql {
    pub(crate) async fn count(&self, ctx: &Ctx, subject: &Subject) -> Result<u64, Failure> {
        let client = self.pool.get().await.map_err(pool_failure)?;
        let statement = client.prepare_typed(&self.lookup, &PARAMETER_TYPES).await.map_err(sql_failure)?;
        let row = client.query_one(&statement, &parameters(ctx, subject).refs()).await.map_err(sql_failure)?;
        let count: i64 = row.try_get(0).map_err(|_| Failure::permanent("`lookup` must return one bigint (a count)"))?;
        Ok(count.max(0) as u64)
    }

    /// The rows each `erase` statement affected, committed together.
    pub(crate) async fn run_erase(&self, ctx: &Ctx, subject: &Subject) -> Result<Vec<u64>, Failure> {
        let mut client = self.pool.get().await.map_err(pool_failure)?;
        let tx = client.transaction().await.map_err(sql_failure)?;
        let values = parameters(ctx, subject);
        let mut affected = Vec::with_capacity(self.erase.len());
        for sql in &self.erase {
            let statement = tx.prepare_typed(sql, &PARAMETER_TYPES).await.map_err(sql_failure)?;
            affected.push(tx.execute(&statement, &values.refs()).await.map_err(sql_failure)?);
        }
        tx.commit().await.map_err(sql_failure)?;
        Ok(affected)
    }

    /// Every statement prepares: the database is reachable and the statements are valid.
    pub(crate) async fn prepare_all(&self) -> Result<(), Failure> {
        let client = self.pool.get().await.map_err(pool_failure)?;
        client.prepare_typed(&self.lookup, &PARAMETER_TYPES).await.map_err(sql_failure)?;
        for sql in &self.erase {
            client.prepare_typed(sql, &PARAMETER_TYPES).await.map_err(sql_failure)?;
        }
        Ok(())
    }
}

struct Parameters {
    emails: Vec<String>,
    phones: Vec<String>,
    user_id: Option<String>,
    system_id: Option<String>,
}

impl Parameters {
    fn refs(&self) -> [&(dyn ToSql + Sync); 4] {
        [&self.emails, &self.phones, &self.user_id, &self.system_id]
    }
}

fn parameters(ctx: &Ctx, subject: &Subject) -> Parameters {
    Parameters {
        emails: subject.emails().to_vec(),
        phones: subject.phones().to_vec(),
        user_id: subject.user_id().map(str::to_string),
        system_id: subject.id_in(&ctx.instance).map(str::to_string),
    }
}

/// Server errors carry a SQLSTATE: serialisation failures, deadlocks, lock and statement
/// timeouts and "too many connections" retry; everything else (syntax, permissions, a missing
/// table) needs a human. The reason is the SQLSTATE and a fixed sentence for its class, never the
/// server's message: that can quote a bound value (`invalid input syntax for type integer:
/// "<an identifier>"`), and the reason travels to the task, the audit log, the API and events.
///
/// A TLS certificate that does not verify needs a human too (a wrong `ca_file`, or a server
/// that is not the one meant): the reason is one of the SDK's fixed sentences.
fn sql_failure(error: tokio_postgres::Error) -> Failure {
    if let Some(reason) = erasure_connector::tls::certificate_refused(&error) {
        return Failure::permanent(format!("no database connection: {reason}"));
    }
    let Some(db) = error.as_db_error() else {
        return Failure::transient("the database could not be reached");
    };
    let code = db.code().code();
    let reason = format!("the database refused a statement: {} (SQLSTATE {code})", class_sentence(code));
    match code {
        "40001" | "40P01" | "55P03" | "57014" | "53300" | "57P01" | "57P03" => Failure::transient(reason),
        _ => Failure::permanent(reason),
    }
}

/// What a SQLSTATE class means, in words that cannot carry data.
fn class_sentence(code: &str) -> &'static str {
    match code.get(..2).unwrap_or("") {
        "22" => "a value does not fit the statement (data exception)",
        "23" => "a constraint refused the change",
        "25" | "40" => "the transaction could not complete",
        "28" => "the credentials were refused",
        "42" => "the statement is invalid, names a missing object or lacks a permission",
        "53" => "the server is out of resources",
        "55" | "57" => "the statement was cancelled, timed out or met a lock",
        _ => "see the SQLSTATE",
    }
}

fn pool_failure(error: deadpool_postgres::PoolError) -> Failure {
    match error {
        deadpool_postgres::PoolError::Backend(e) => match e.as_db_error() {
            Some(db) if db.code().code() == "28P01" || db.code().code() == "28000" => {
                Failure::permanent(format!("the database refused the credentials (SQLSTATE {})", db.code().code()))
            }
            _ => sql_failure(e),
        },
        other => Failure::transient(format!("no database connection: {other}")),
    }
}

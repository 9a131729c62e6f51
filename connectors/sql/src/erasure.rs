//! An erasure: count first, then run the `erase` statements; their affected rows are the evidence.

use crate::Sql;
use erasure_connector::{Ctx, Evidence, Outcome, Subject};

impl Sql {
    pub(crate) async fn erase_rows(&self, ctx: &Ctx, subject: &Subject) -> Outcome {
        match self.count(ctx, subject).await {
            Ok(0) => return Outcome::NothingToErase,
            Ok(_) => {}
            Err(failure) => return failure.into(),
        }
        match self.run_erase(ctx, subject).await {
            Ok(affected) if affected.iter().sum::<u64>() == 0 => Outcome::NothingToErase,
            Ok(affected) => {
                let evidence = affected
                    .iter()
                    .enumerate()
                    .fold(Evidence::default(), |e, (i, n)| e.count(&format!("statement_{}_rows", i + 1), *n))
                    .count("rows", affected.iter().sum());
                Outcome::Erased(evidence)
            }
            Err(failure) => failure.into(),
        }
    }
}

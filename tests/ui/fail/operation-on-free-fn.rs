use onex_events::onex_operation;

#[onex_operation("orchestration")]
async fn orchestrate(job: u32) -> u32 {
    job
}

fn main() {}

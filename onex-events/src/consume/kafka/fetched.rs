//! A record the consumer fetched, kept where librdkafka put it for as long
//! as it is in hand: its value, key and headers are read in place rather
//! than copied out.
//!
//! librdkafka ties a fetched message to its consumer only so that the
//! message is destroyed before the consumer. A [`FetchedMessage`] holds the
//! consumer itself (one reference count), so that order holds however long
//! the message lives; `yoke` proves the borrow without `unsafe`.

use super::context::GroupContext;
use crate::kafka::rdkafka::consumer::StreamConsumer;
use crate::kafka::rdkafka::error::KafkaResult;
use crate::kafka::rdkafka::message::BorrowedMessage;
use futures_util::StreamExt;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use yoke::{Yoke, Yokeable};

/// The consumer, shared with every message in hand.
pub(crate) type SharedConsumer = Arc<StreamConsumer<GroupContext>>;

/// A fetched message, yokeable to the consumer it borrows from.
#[derive(Yokeable)]
pub(crate) struct Fetched<'a>(BorrowedMessage<'a>);

/// A fetched message that holds its consumer.
pub(crate) struct FetchedMessage(Yoke<Fetched<'static>, SharedConsumer>);

impl FetchedMessage {
    /// The next message librdkafka has already fetched, without waiting:
    /// `None` if there is none.
    pub fn ready(consumer: &SharedConsumer) -> Option<KafkaResult<FetchedMessage>> {
        let taken = Yoke::try_attach_to_cart(Arc::clone(consumer), |consumer| {
            let mut cx = Context::from_waker(Waker::noop());
            match consumer.stream().poll_next_unpin(&mut cx) {
                Poll::Ready(Some(Ok(message))) => Ok(Fetched(message)),
                Poll::Ready(Some(Err(error))) => Err(Some(error)),
                Poll::Ready(None) | Poll::Pending => Err(None),
            }
        });
        match taken {
            Ok(message) => Some(Ok(FetchedMessage(message))),
            Err(Some(error)) => Some(Err(error)),
            Err(None) => None,
        }
    }

    /// The message.
    pub fn get(&self) -> &BorrowedMessage<'_> {
        &self.0.get().0
    }
}

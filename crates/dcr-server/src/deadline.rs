//! Time limits on a request once its head has arrived: the body must arrive within
//! `body_read_timeout`, and the whole request must be answered within
//! `request_timeout`. Either is answered 408 in the route's documented error shape,
//! so a slow client gets a clear error instead of holding a worker. Applied to every
//! request by [`crate::edge`].
//!
//! (The head itself is timed by the accept loop, `serve.rs`.)

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use dcr_proto::{EnhancedErrorCode, OAuthErrorCode};
use hyper::body::Frame;
use tokio::time::{Instant, Sleep};

use crate::error::{EnhancedFailure, OAuthFailure};

/// The two limits, from `LimitsConfig`.
#[derive(Debug, Clone, Copy)]
pub struct Deadlines {
    pub body: Duration,
    pub request: Duration,
}

/// Set once a request body missed its deadline: the handler's error is then replaced by
/// the 408 (whatever it made of the failed read, the client was too slow).
#[derive(Clone, Default)]
pub struct BodyTimedOutFlag(Arc<AtomicBool>);

impl BodyTimedOutFlag {
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// The request with a body that fails once `limit` has passed.
pub fn limit_body(request: Request, limit: Duration) -> (Request, BodyTimedOutFlag) {
    let flag = BodyTimedOutFlag::default();
    let (parts, body) = request.into_parts();
    let body = Body::new(DeadlineBody {
        inner: body,
        deadline: Instant::now() + limit,
        sleep: None,
        timed_out: flag.0.clone(),
    });
    (Request::from_parts(parts, body), flag)
}

/// Routes whose errors are OAuth bodies rather than enhanced errors.
pub fn speaks_oauth(path: &str) -> bool {
    path.starts_with("/o/client/") || path.starts_with("/oauth2/") || path == "/o/introspect"
}

pub fn timeout_response(oauth: bool, message: String) -> Response {
    if oauth {
        let mut failure = OAuthFailure::new(OAuthErrorCode::InvalidRequest, message);
        failure.status = StatusCode::REQUEST_TIMEOUT;
        failure.into_response()
    } else {
        EnhancedFailure::new(
            StatusCode::REQUEST_TIMEOUT,
            EnhancedErrorCode::RequestTimeout,
            message,
        )
        .into_response()
    }
}

/// A request body that fails once its deadline passes.
struct DeadlineBody {
    inner: Body,
    deadline: Instant,
    /// Made the first time the body is not there yet: a small body usually arrives
    /// with its head, and then no timer is ever set.
    sleep: Option<Pin<Box<Sleep>>>,
    timed_out: Arc<AtomicBool>,
}

/// The error a [`DeadlineBody`] ends with.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
pub struct BodyTimedOut;

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        let deadline = this.deadline;
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if sleep.as_mut().poll(cx).is_ready() {
            this.timed_out.store(true, Ordering::Release);
            return Poll::Ready(Some(Err(axum::Error::new(BodyTimedOut))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

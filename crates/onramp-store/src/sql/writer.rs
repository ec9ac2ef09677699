//! The one way the store writes: [`Writer::begin`] hands out a [`Write`], the request's writes run on it,
//! and [`Write::commit`] returns once they are durable. Dropping a `Write` without committing undoes its
//! writes.
//!
//! PostgreSQL: a `Write` is a transaction of its own from the pool.
//!
//! SQLite (one writer connection, `synchronous=FULL`): concurrent requests commit together. Requests queue
//! for the writer; the first of a batch opens a transaction (`BEGIN IMMEDIATE`) and writes in it directly,
//! each later one writes inside a `SAVEPOINT` of that open transaction. A turn that succeeds `RELEASE`s its
//! savepoint and waits for the batch's COMMIT; one that fails (or is dropped) rolls back to its savepoint
//! (the first turn, having nobody's writes before it, rolls the transaction back), so its writes never
//! reach the others'. The turn that ends with nobody waiting for the writer (or with the batch full)
//! COMMITs once, one fsync for the batch, and wakes every turn of it: each is acknowledged only now, with
//! its writes on disk. A failed COMMIT, or a failure that leaves the transaction in doubt (a savepoint that
//! cannot be released or rolled back to), rolls the batch back and fails every turn of it: none is
//! acknowledged.
//!
//! The queueing and the commit run in spawned tasks, so a request dropped while it waits (its client went
//! away) never strands the batch: a dropped turn is undone, and the turn ending it still commits.

use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::pool::PoolConnection;
use sqlx::{Database, Executor, Pool, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard, watch};

use crate::{Result, StoreError};

/// The most turns one COMMIT acknowledges: under a queue that never empties, a batch still ends.
const BATCH_LIMIT: usize = 128;

/// Hands out writes: a transaction each (PostgreSQL), or turns of a group commit (SQLite).
pub(super) enum Writer<DB: Database> {
    Each(Pool<DB>),
    Group(Arc<Group<DB>>),
}

impl<DB> Writer<DB>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    /// A transaction per write, from the pool.
    pub fn each(pool: Pool<DB>) -> Self {
        Writer::Each(pool)
    }

    /// Group commit on the pool's connection (the pool has one: SQLite's writer).
    pub fn group(pool: Pool<DB>) -> Self {
        Writer::Group(Arc::new(Group {
            pool,
            state: Arc::new(Mutex::new(None)),
            waiting: AtomicUsize::new(0),
            undoer: |group, guard, savepoint| Box::pin(group.undo(guard, savepoint)),
        }))
    }

    /// The pool the writes use, for its gauges.
    pub fn pool(&self) -> &Pool<DB> {
        match self {
            Writer::Each(pool) => pool,
            Writer::Group(group) => &group.pool,
        }
    }

    /// Starts a write: once it returns, the caller has the writer until it commits or drops the `Write`.
    pub async fn begin(&self) -> Result<Write<DB>> {
        match self {
            Writer::Each(pool) => Ok(Write(Inner::Tx(pool.begin().await?))),
            // Spawned: a caller dropped while queueing must not leave the queue count or the lock behind.
            Writer::Group(group) => {
                let turn = tokio::spawn(group.clone().turn()).await.map_err(abandoned)??;
                Ok(Write(Inner::Turn(turn)))
            }
        }
    }
}

/// One request's writes: a connection inside a transaction (deref to it), until [`Write::commit`].
pub(super) struct Write<DB: Database>(Inner<DB>);

enum Inner<DB: Database> {
    Tx(Transaction<'static, DB>),
    Turn(Turn<DB>),
}

impl<DB> Write<DB>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    /// Makes the writes durable; returns only once they are on disk (or with the error that kept them off).
    pub async fn commit(self) -> Result<()> {
        match self.0 {
            Inner::Tx(tx) => {
                tx.commit().await?;
                crate::writes::committed();
                Ok(())
            }
            Inner::Turn(turn) => {
                let done = tokio::spawn(turn.release()).await.map_err(abandoned)??;
                wait(done).await
            }
        }
    }
}

impl<DB: Database> Deref for Write<DB> {
    type Target = DB::Connection;
    fn deref(&self) -> &DB::Connection {
        match &self.0 {
            Inner::Tx(tx) => tx,
            Inner::Turn(turn) => turn.connection(),
        }
    }
}

impl<DB: Database> DerefMut for Write<DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        match &mut self.0 {
            Inner::Tx(tx) => tx,
            Inner::Turn(turn) => turn.connection_mut(),
        }
    }
}

/// The group commit of one connection.
pub(super) struct Group<DB: Database> {
    pool: Pool<DB>,
    /// The open batch, if any; holding the lock is holding the writer.
    state: Arc<Mutex<Option<Batch<DB>>>>,
    /// Requests queued for the lock. A turn ending while this is zero commits.
    waiting: AtomicUsize,
    /// [`Group::undo`], for `Drop` (whose impl cannot have the bounds that calling it needs).
    undoer: fn(Arc<Group<DB>>, Guard<DB>, bool) -> Undo,
}

type Undo = Pin<Box<dyn Future<Output = ()> + Send>>;

/// An open transaction and the turns released into it.
struct Batch<DB: Database> {
    conn: PoolConnection<DB>,
    /// Turns whose writes the transaction holds, waiting for its COMMIT.
    members: usize,
    /// Set once, by the COMMIT (or the rollback) that ends the batch.
    done: watch::Sender<Option<Outcome>>,
    /// A turn was dropped where its writes could not be undone (no runtime to run the rollback on): the
    /// batch must not commit.
    poisoned: bool,
}

/// How a batch ended: committed, or the reason none of it was.
type Outcome = std::result::Result<(), Arc<str>>;

type Guard<DB> = OwnedMutexGuard<Option<Batch<DB>>>;

/// A request holding the writer, inside the open transaction.
struct Turn<DB: Database> {
    group: Arc<Group<DB>>,
    /// Taken by `release`; still here when the turn is dropped uncommitted.
    guard: Option<Guard<DB>>,
    /// The turn writes inside a savepoint (false: it is the first of its transaction).
    savepoint: bool,
}

impl<DB> Group<DB>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    /// Queues for the writer, then opens the batch's transaction or a savepoint in it.
    async fn turn(self: Arc<Self>) -> Result<Turn<DB>> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let mut guard = self.state.clone().lock_owned().await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        if guard.as_ref().is_some_and(|batch| batch.poisoned) {
            end_failed(&mut guard, "a write of the batch could not be undone".into()).await;
        }
        match guard.as_mut() {
            None => {
                let mut conn = self.pool.acquire().await?;
                // IMMEDIATE: the write lock now, so a later statement never meets another process's lock.
                (&mut *conn).execute("BEGIN IMMEDIATE").await?;
                let (done, _) = watch::channel(None);
                *guard = Some(Batch { conn, members: 0, done, poisoned: false });
                Ok(Turn { group: self, guard: Some(guard), savepoint: false })
            }
            Some(batch) => match (&mut *batch.conn).execute("SAVEPOINT onramp_write").await {
                Ok(_) => Ok(Turn { group: self, guard: Some(guard), savepoint: true }),
                Err(error) => {
                    end_failed(&mut guard, error.to_string().into()).await;
                    Err(error.into())
                }
            },
        }
    }

    /// Ends a turn: the last in line (or the one filling the batch) ends the batch, committing it if any
    /// turn is in it; otherwise the writer goes to the next in line.
    async fn end_turn(&self, mut guard: Guard<DB>) {
        let Some(batch) = guard.as_mut() else { return };
        let more = self.waiting.load(Ordering::SeqCst) > 0;
        if more && batch.members < BATCH_LIMIT {
            return;
        }
        if batch.members == 0 {
            // Nothing to keep (every turn so far failed): no fsync.
            let batch = guard.take().expect("checked above");
            end_empty(batch).await;
            return;
        }
        if batch.poisoned {
            end_failed(&mut guard, "a write of the batch could not be undone".into()).await;
            return;
        }
        match (&mut *batch.conn).execute("COMMIT").await {
            Ok(_) => {
                crate::writes::committed();
                let batch = guard.take().expect("checked above");
                batch.done.send_replace(Some(Ok(())));
            }
            Err(error) => end_failed(&mut guard, error.to_string().into()).await,
        }
    }

    /// Undoes a dropped turn's writes, then ends its turn.
    async fn undo(self: Arc<Self>, mut guard: Guard<DB>, savepoint: bool) {
        let Some(batch) = guard.as_mut() else { return };
        if !savepoint {
            // The first turn of the transaction: nobody else's writes are in it yet.
            let batch = guard.take().expect("checked above");
            end_empty(batch).await;
            return;
        }
        let undone = match (&mut *batch.conn).execute("ROLLBACK TO onramp_write").await {
            Ok(_) => (&mut *batch.conn).execute("RELEASE onramp_write").await,
            Err(error) => Err(error),
        };
        match undone {
            Ok(_) => self.end_turn(guard).await,
            // The transaction is in doubt (SQLite rolls the whole of it back on some errors): none of the
            // batch is kept.
            Err(error) => end_failed(&mut guard, error.to_string().into()).await,
        }
    }
}

impl<DB> Turn<DB>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    /// Keeps the turn's writes in the batch and ends the turn; the receiver says how the batch ended.
    async fn release(mut self) -> Result<watch::Receiver<Option<Outcome>>> {
        let mut guard = self.guard.take().expect("a turn is released once");
        let batch = guard.as_mut().expect("a turn holds an open batch");
        if self.savepoint
            && let Err(error) = (&mut *batch.conn).execute("RELEASE onramp_write").await
        {
            end_failed(&mut guard, error.to_string().into()).await;
            return Err(error.into());
        }
        batch.members += 1;
        let done = batch.done.subscribe();
        self.group.end_turn(guard).await;
        Ok(done)
    }
}

impl<DB: Database> Turn<DB> {
    fn connection(&self) -> &DB::Connection {
        &self.guard.as_ref().and_then(|guard| guard.as_ref()).expect("a turn holds an open batch").conn
    }

    fn connection_mut(&mut self) -> &mut DB::Connection {
        &mut self.guard.as_mut().and_then(|guard| guard.as_mut()).expect("a turn holds an open batch").conn
    }
}

impl<DB: Database> Drop for Turn<DB> {
    fn drop(&mut self) {
        let Some(mut guard) = self.guard.take() else { return };
        // The undo needs the connection, hence a task that owns the lock until it is done: no other turn
        // writes on top of this one's writes before they are rolled back.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn((self.group.undoer)(self.group.clone(), guard, self.savepoint));
            }
            Err(_) => {
                if let Some(batch) = guard.as_mut() {
                    batch.poisoned = true;
                }
            }
        }
    }
}

/// Rolls back a batch none of whose turns is kept.
async fn end_empty<DB>(mut batch: Batch<DB>)
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    if (&mut *batch.conn).execute("ROLLBACK").await.is_err() {
        // A connection whose transaction state is unknown is not given back.
        let _ = batch.conn.close().await;
    }
    batch.done.send_replace(Some(Err("the batch was rolled back".into())));
}

/// Rolls the batch back and fails every turn of it.
async fn end_failed<DB>(guard: &mut Guard<DB>, reason: Arc<str>)
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    let Some(mut batch) = guard.take() else { return };
    if (&mut *batch.conn).execute("ROLLBACK").await.is_err() {
        let _ = batch.conn.close().await;
    }
    batch.done.send_replace(Some(Err(reason)));
}

/// Waits for the end of the batch a released turn is in.
async fn wait(mut done: watch::Receiver<Option<Outcome>>) -> Result<()> {
    let outcome = done.wait_for(Option::is_some).await.map_err(|_| batch_failed("the batch was abandoned"))?;
    match outcome.as_ref().expect("waited for") {
        Ok(()) => Ok(()),
        Err(reason) => Err(batch_failed(reason)),
    }
}

/// The error of a turn whose batch did not commit: its writes are not on disk.
fn batch_failed(reason: &str) -> StoreError {
    StoreError::Database(sqlx::Error::Io(std::io::Error::other(format!("group commit failed: {reason}"))))
}

fn abandoned(error: tokio::task::JoinError) -> StoreError {
    batch_failed(&error.to_string())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
    use sqlx::{Row, Sqlite};

    use super::*;

    /// A writer on a fresh SQLite file set up as the store's (one connection, WAL, `synchronous=FULL`),
    /// with the tables the tests write.
    async fn writer() -> (Writer<Sqlite>, Pool<Sqlite>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let options = SqliteConnectOptions::new()
            .filename(dir.path().join("t.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options.clone()).await.unwrap();
        for sql in [
            "CREATE TABLE keys (k TEXT PRIMARY KEY)",
            "CREATE TABLE notes (n BIGINT NOT NULL)",
            "CREATE TABLE parents (id BIGINT PRIMARY KEY)",
            "CREATE TABLE children (parent BIGINT NOT NULL REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED)",
        ] {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        let read = SqlitePoolOptions::new().max_connections(1).connect_with(options.read_only(true)).await.unwrap();
        (Writer::group(pool), read, dir)
    }

    fn group(writer: &Writer<Sqlite>) -> Arc<Group<Sqlite>> {
        match writer {
            Writer::Group(group) => group.clone(),
            Writer::Each(_) => unreachable!("a group writer"),
        }
    }

    async fn numbers(read: &Pool<Sqlite>, sql: &str) -> Vec<i64> {
        sqlx::query(sql).fetch_all(read).await.unwrap().iter().map(|row| row.get::<i64, _>(0)).collect()
    }

    async fn wait_until_queued(group: &Group<Sqlite>, count: usize) {
        for _ in 0..1000 {
            if group.waiting.load(Ordering::SeqCst) == count {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("{count} turns never queued");
    }

    /// One request's writes: a note of its number, then its key; every third writes its key twice (a unique
    /// violation after it has written), every fifth of the rest is dropped without a commit (a request whose
    /// client went away). Only the committed ones may be left, whole.
    async fn request(writer: Arc<Writer<Sqlite>>, n: i64) -> Result<bool> {
        let mut write = writer.begin().await?;
        sqlx::query("INSERT INTO notes (n) VALUES ($1)").bind(n).execute(&mut *write).await?;
        let key = format!("k{n}");
        sqlx::query("INSERT INTO keys (k) VALUES ($1)").bind(&key).execute(&mut *write).await?;
        if n % 3 == 0 {
            sqlx::query("INSERT INTO keys (k) VALUES ($1)").bind(&key).execute(&mut *write).await?;
        }
        if n % 5 == 1 {
            drop(write);
            return Ok(false);
        }
        write.commit().await?;
        Ok(true)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writes_leave_exactly_the_committed_ones() {
        let (writer, read, _dir) = writer().await;
        let writer = Arc::new(writer);
        // The first turn holds the writer until everyone else has queued behind it, so that the batch
        // really holds many turns, failed and dropped ones among them.
        let first = writer.begin().await.unwrap();
        let tasks: Vec<_> = (1..=60).map(|n| tokio::spawn(request(writer.clone(), n))).collect();
        wait_until_queued(&group(&writer), 60).await;
        first.commit().await.unwrap();
        let mut kept = Vec::new();
        for (n, task) in (1..=60).zip(tasks) {
            match task.await.unwrap() {
                Ok(true) => kept.push(n),
                Ok(false) => assert_eq!(n % 5, 1, "{n} was dropped"),
                Err(StoreError::Database(error)) => {
                    assert_eq!(n % 3, 0, "{n} failed: {error}");
                    assert!(error.as_database_error().is_some_and(|db| db.is_unique_violation()), "{n}: {error}");
                }
                Err(error) => panic!("{n}: {error}"),
            }
        }
        let want: Vec<i64> = (1..=60).filter(|n| n % 3 != 0 && n % 5 != 1).collect();
        assert_eq!(kept, want);
        assert_eq!(numbers(&read, "SELECT n FROM notes ORDER BY n").await, want, "notes of failed turns are gone");
        let keys = numbers(&read, "SELECT CAST(substr(k, 2) AS INTEGER) FROM keys ORDER BY 1").await;
        assert_eq!(keys, want);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_commit_fails_every_turn_of_the_batch() {
        let (writer, read, _dir) = writer().await;
        let writer = Arc::new(writer);
        // A child without its parent passes its statement (the key is checked at COMMIT), so the COMMIT of
        // the batch it is in fails.
        let mut first = writer.begin().await.unwrap();
        sqlx::query("INSERT INTO children (parent) VALUES (404)").execute(&mut *first).await.unwrap();
        let tasks: Vec<_> = (1..=10)
            .map(|n| {
                let writer = writer.clone();
                tokio::spawn(async move {
                    let mut write = writer.begin().await?;
                    sqlx::query("INSERT INTO notes (n) VALUES ($1)").bind(n).execute(&mut *write).await?;
                    write.commit().await
                })
            })
            .collect();
        wait_until_queued(&group(&writer), 10).await;
        let outcome = first.commit().await;
        assert!(outcome.is_err(), "the batch's COMMIT failed");
        for task in tasks {
            let outcome = task.await.unwrap();
            let error = outcome.expect_err("no turn of a failed batch is acknowledged").to_string();
            assert!(error.contains("group commit failed"), "{error}");
        }
        assert_eq!(numbers(&read, "SELECT n FROM notes").await, Vec::<i64>::new());
        assert_eq!(numbers(&read, "SELECT parent FROM children").await, Vec::<i64>::new());

        // The writer is usable again.
        let mut write = writer.begin().await.unwrap();
        sqlx::query("INSERT INTO notes (n) VALUES (7)").execute(&mut *write).await.unwrap();
        write.commit().await.unwrap();
        assert_eq!(numbers(&read, "SELECT n FROM notes").await, vec![7]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_first_turn_leaves_the_batch_to_the_next() {
        let (writer, read, _dir) = writer().await;
        let writer = Arc::new(writer);
        // The first turn (no savepoint: it rolls the transaction back) fails while others wait behind it.
        let mut first = writer.begin().await.unwrap();
        sqlx::query("INSERT INTO notes (n) VALUES (0)").execute(&mut *first).await.unwrap();
        let tasks: Vec<_> = (1..=5).map(|n| tokio::spawn(request(writer.clone(), n * 2))).collect();
        wait_until_queued(&group(&writer), 5).await;
        drop(first);
        let mut kept = Vec::new();
        for (n, task) in (1..=5).map(|n| n * 2).zip(tasks) {
            if task.await.unwrap().is_ok_and(|committed| committed) {
                kept.push(n);
            }
        }
        assert_eq!(kept, vec![2, 4, 8, 10]);
        assert_eq!(numbers(&read, "SELECT n FROM notes ORDER BY n").await, kept);
    }
}

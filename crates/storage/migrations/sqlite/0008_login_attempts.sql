-- Login throttling counted atomically (issue #10, items 8 and 9).
-- One row per counter: scope 'pair' (username, client_addr) locks an
-- account from one address; scope 'account' (username, '') locks an account
-- guessed from many addresses; scope 'addr' ('', client_addr) only slows an
-- address down (a rate of failed password checks per minute), so that one
-- person behind a shared address (NAT, proxy) cannot lock out the others.
-- An attempt is reserved here, in one transaction, before the password is
-- checked; `failures` never exceeds the scope's limit.
CREATE TABLE login_attempts (
    scope         TEXT NOT NULL CHECK (scope IN ('pair', 'account', 'addr')),
    username      TEXT NOT NULL,
    client_addr   TEXT NOT NULL,
    failures      INTEGER NOT NULL,
    first_at      INTEGER NOT NULL,
    locked_until  INTEGER,
    PRIMARY KEY (scope, username, client_addr)
);

-- Replaced by login_attempts: a lock per address shut out a whole office.
DROP TABLE login_failures;

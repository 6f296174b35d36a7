-- Issue 16: the JetStream stream sequence of the message that stored an
-- upload (NULL for frames the listener committed itself). A writer that
-- finds an upload's key already in the ledger compares sequences inside its
-- transaction: the same sequence is the same message delivered again (a
-- writer crashed or an ack was lost) and is dropped whole; another sequence
-- is the logger sending the frame again and is counted as a duplicate.
ALTER TABLE hj212_uploads ADD COLUMN stream_seq INTEGER;

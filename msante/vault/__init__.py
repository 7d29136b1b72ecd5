"""The encrypted store: keys, SQLCipher, blobs, audit chain, unlock agent."""

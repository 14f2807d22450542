"""The store on both engines: the contract, migrations, SQLite and PostgreSQL specifics."""

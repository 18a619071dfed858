"""Input files to the account-identifier usage graph: readers per format, validation and quarantine, usage aggregation, the ledger of what a store has loaded."""

"""Infrastructure that is not application code: state machine definitions and the local development stack."""

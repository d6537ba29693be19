"""Hook events to session state to spans and hook metrics."""

"""The clinical record as stored: the database models and their migrations (app label `clinic`)."""

"""Study 1, the hyperparameter lottery: statistics (:mod:`.analysis`), figures
(:mod:`.figures`), params (:mod:`.params`) and notebook glue (:mod:`.study`)."""

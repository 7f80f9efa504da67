CREATE TABLE `predictions` (
	`model_sha256` text NOT NULL,
	`sop_instance_uid` text NOT NULL,
	`study_instance_uid` text NOT NULL,
	`frames` integer NOT NULL,
	`score_max` real NOT NULL,
	`score_sum` real NOT NULL,
	`created_at` text NOT NULL,
	PRIMARY KEY(`model_sha256`, `sop_instance_uid`)
);

CREATE TABLE `subgroup_refusals` (
	`job_id` text NOT NULL,
	`attribute` text NOT NULL,
	`reason` text NOT NULL,
	`source` text NOT NULL,
	`decided_at` text NOT NULL,
	PRIMARY KEY(`job_id`, `attribute`)
);

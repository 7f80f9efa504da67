CREATE TABLE `rollout_events` (
	`id` text PRIMARY KEY NOT NULL,
	`model_id` text NOT NULL,
	`region_id` text NOT NULL,
	`seq` integer NOT NULL,
	`action` text NOT NULL,
	`from_state` text NOT NULL,
	`to_state` text NOT NULL,
	`at` integer NOT NULL,
	`actor` text NOT NULL,
	`person_id` text,
	`reason` text NOT NULL,
	`concession` text,
	`evidence_sha256` text,
	`model_sha256` text NOT NULL,
	`threshold` real NOT NULL,
	`criteria_sha256` text,
	FOREIGN KEY (`model_id`) REFERENCES `models`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`region_id`) REFERENCES `regions`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `rollout_events_seq_idx` ON `rollout_events` (`model_id`,`region_id`,`seq`);--> statement-breakpoint
CREATE TABLE `rollouts` (
	`model_id` text NOT NULL,
	`region_id` text NOT NULL,
	`state` text NOT NULL,
	`events` integer NOT NULL,
	`verdict` text,
	`evidence_sha256` text,
	`criteria_sha256` text,
	`concession` text,
	`approved_at` integer,
	`review_due_at` integer,
	`pending_action` text,
	`pending_person_id` text,
	`pending_at` integer,
	`pending_concession` text,
	`changed_at` integer NOT NULL,
	PRIMARY KEY(`model_id`, `region_id`),
	FOREIGN KEY (`model_id`) REFERENCES `models`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`region_id`) REFERENCES `regions`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `rollouts_region_idx` ON `rollouts` (`region_id`);--> statement-breakpoint
ALTER TABLE `api_tokens` ADD `person_id` text;
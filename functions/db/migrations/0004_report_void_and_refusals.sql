CREATE TABLE `report_refusals` (
	`day` text NOT NULL,
	`site_id` text NOT NULL,
	`stage` text NOT NULL,
	`code` text NOT NULL,
	`count` integer NOT NULL,
	`last_at` integer NOT NULL,
	PRIMARY KEY(`day`, `site_id`, `stage`, `code`)
);
--> statement-breakpoint
ALTER TABLE `reports` ADD `voided_at` integer;--> statement-breakpoint
ALTER TABLE `reports` ADD `void_reason` text;--> statement-breakpoint
ALTER TABLE `reports` ADD `voided_by` text;
from engine.actors.mailbox import Mailbox, MailboxStatistics, Reply, Urgent

__all__ = ["Mailbox", "MailboxStatistics", "Reply", "Urgent"]

/**
 * @file queue.h
 * @brief A bounded queue of integers.
 *
 * The queue keeps its items in a ring buffer of fixed capacity.
 */

/** A ring buffer that holds at most a fixed number of integers. */
struct queue {
    int *items;    /**< Storage for the items. */
    int capacity;  /**< How many items fit. */
};

/**
 * @brief Appends an item at the tail of the queue.
 *
 * Returns zero when the queue is full and the item was not stored.
 */
int queue_push(struct queue *q, int item);
